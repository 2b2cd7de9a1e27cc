// The event type catalog over real HTTP with the typed client: upsert, list, archive and
// un-archive, name rules, the reserved `hookline.` prefix, schemas, and who may do what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { codeOf, errorOf } from './helpers/errors.js';

let app: TestApp;
let tenantKey: string;

beforeAll(async () => {
  app = await startTestApp();
  tenantKey = (await app.admin.tenants.create.mutate({ name: 'Catalog Reader' })).apiKey;
});
afterAll(() => app.close());

const seeds = ['job.completed', 'tool_execution.succeeded', 'file.upload.completed', 'generated_video_success', 'generation.failed'];

describe('upsert and list', () => {
  it('accepts every seed name and lists them by name', async () => {
    for (const name of seeds) {
      const created = await app.admin.eventTypes.upsert.mutate({ name, description: `the ${name} event` });
      expect(created).toMatchObject({ name, description: `the ${name} event`, schema: null, archived: false, archivedAt: null });
      expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
    }
    const { items } = await app.admin.eventTypes.list.query();
    const names = items.map((t) => t.name);
    for (const name of seeds) expect(names).toContain(name);
    expect(names).toEqual([...names].sort());
  });

  it('upsert updates in place and keeps fields left out; null clears them', async () => {
    const schema = { type: 'object', properties: { jobId: { type: 'string' } }, required: ['jobId'] };
    const first = await app.admin.eventTypes.upsert.mutate({ name: 'render.started', description: 'v1', schema });
    expect(first.schema).toEqual(schema);
    const second = await app.admin.eventTypes.upsert.mutate({ name: 'render.started', description: 'v2' });
    expect(second).toMatchObject({ description: 'v2', schema });
    expect(second.createdAt).toBe(first.createdAt);
    expect(await app.admin.eventTypes.upsert.mutate({ name: 'render.started' })).toMatchObject({ description: 'v2', schema });
    const cleared = await app.admin.eventTypes.upsert.mutate({ name: 'render.started', description: null, schema: null });
    expect(cleared).toMatchObject({ description: null, schema: null });
    const all = await app.admin.eventTypes.list.query();
    expect(all.items.filter((t) => t.name === 'render.started')).toHaveLength(1);
  });

  it('archive hides a type from the default list; upsert brings it back', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'legacy.thing', description: 'old' });
    const archived = await app.admin.eventTypes.archive.mutate({ name: 'legacy.thing' });
    expect(archived.archived).toBe(true);
    expect(archived.archivedAt).not.toBeNull();
    expect((await app.admin.eventTypes.list.query()).items.map((t) => t.name)).not.toContain('legacy.thing');
    const withArchived = await app.admin.eventTypes.list.query({ includeArchived: true });
    expect(withArchived.items.find((t) => t.name === 'legacy.thing')).toMatchObject({ archived: true });

    // Archiving again is harmless and keeps the first archive time.
    expect((await app.admin.eventTypes.archive.mutate({ name: 'legacy.thing' })).archivedAt).toBe(archived.archivedAt);

    const back = await app.admin.eventTypes.upsert.mutate({ name: 'legacy.thing' });
    expect(back).toMatchObject({ archived: false, archivedAt: null, description: 'old' });
    expect((await app.admin.eventTypes.list.query()).items.map((t) => t.name)).toContain('legacy.thing');
  });

  it('archiving an unknown type → NOT_FOUND', async () => {
    expect(await codeOf(app.admin.eventTypes.archive.mutate({ name: 'never.registered' }))).toBe('NOT_FOUND');
  });
});

describe('names', () => {
  const invalid: Array<[string, string]> = [
    ['uppercase', 'Job.Completed'],
    ['spaces', 'job completed'],
    ['101 characters', 'a'.repeat(101)],
    ['empty', ''],
    ['wildcard', 'job.*'],
    ['slash', 'job/completed'],
    ['non-ASCII', 'vidéo.prête'],
  ];
  for (const [label, name] of invalid) {
    it(`rejects ${label}`, async () => {
      const error = await errorOf(app.admin.eventTypes.upsert.mutate({ name }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.data?.zodIssues?.length).toBeGreaterThan(0);
    });
  }

  it('accepts exactly 100 characters and every allowed character', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'a'.repeat(100) });
    await app.admin.eventTypes.upsert.mutate({ name: 'z9_-.x' });
  });

  it('reserves the hookline. prefix', async () => {
    for (const name of ['hookline.test', 'hookline.anything']) {
      const error = await errorOf(app.admin.eventTypes.upsert.mutate({ name }));
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('reserved');
    }
    // Only the dotted prefix is reserved.
    await app.admin.eventTypes.upsert.mutate({ name: 'hooklines.done' });
  });
});

describe('schemas', () => {
  it('must be a JSON object', async () => {
    for (const schema of [[], 'string', 42, true]) {
      expect(await codeOf(app.admin.eventTypes.upsert.mutate({ name: 'schema.bad', schema: schema as never }))).toBe(
        'BAD_REQUEST',
      );
    }
  });

  it('may be at most 64 KiB serialized', async () => {
    const big = { description: 'x'.repeat(64 * 1024) };
    const error = await errorOf(app.admin.eventTypes.upsert.mutate({ name: 'schema.big', schema: big }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('64 KiB');
    const fits = { description: 'x'.repeat(60 * 1024) };
    expect((await app.admin.eventTypes.upsert.mutate({ name: 'schema.fits', schema: fits })).schema).toEqual(fits);
  });

  it('may not contain NUL characters (PostgreSQL jsonb cannot store them)', async () => {
    const error = await errorOf(app.admin.eventTypes.upsert.mutate({ name: 'schema.nul', schema: { title: 'a\u0000b' } }));
    expect(error.data?.code).toBe('BAD_REQUEST');
  });
});

describe('auth', () => {
  it('a tenant key may list but not upsert or archive', async () => {
    await app.admin.eventTypes.upsert.mutate({ name: 'auth.visible' });
    const tenant = app.client(tenantKey);
    expect((await tenant.eventTypes.list.query()).items.map((t) => t.name)).toContain('auth.visible');
    expect(await codeOf(tenant.eventTypes.upsert.mutate({ name: 'auth.sneaky' }))).toBe('FORBIDDEN');
    expect(await codeOf(tenant.eventTypes.archive.mutate({ name: 'auth.visible' }))).toBe('FORBIDDEN');
  });

  it('no key → UNAUTHORIZED for every procedure', async () => {
    const anonymous = app.client();
    expect(await codeOf(anonymous.eventTypes.list.query())).toBe('UNAUTHORIZED');
    expect(await codeOf(anonymous.eventTypes.upsert.mutate({ name: 'auth.anon' }))).toBe('UNAUTHORIZED');
    expect(await codeOf(anonymous.eventTypes.archive.mutate({ name: 'auth.visible' }))).toBe('UNAUTHORIZED');
    expect(await codeOf(app.client('hk_wrongwrong_' + 'x'.repeat(43)).eventTypes.list.query())).toBe('UNAUTHORIZED');
  });
});
