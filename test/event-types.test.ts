// The event type catalog: upsert, list, archive and un-archive, name rules, the reserved
// `hookline.` prefix, schemas — through the router in-process (createCaller, with the admin key) —
// and who may do what, over real HTTP with the typed client and each kind of key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, type Caller } from './helpers/caller.js';
import { codeOf, failureOf } from './helpers/errors.js';

let app: TestApp;
let admin: Caller;
let tenantKey: string;

beforeAll(async () => {
  app = await startTestApp();
  admin = adminCaller(app);
  tenantKey = (await admin.tenants.create({ name: 'Catalog Reader' })).apiKey;
});
afterAll(() => app.close());

const seeds = ['job.completed', 'tool_execution.succeeded', 'file.upload.completed', 'generated_video_success', 'generation.failed'];

describe('upsert and list', () => {
  it('accepts every seed name and lists them by name', async () => {
    for (const name of seeds) {
      const created = await admin.eventTypes.upsert({ name, description: `the ${name} event` });
      expect(created).toMatchObject({ name, description: `the ${name} event`, schema: null, archived: false, archivedAt: null });
      expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
    }
    const { items } = await admin.eventTypes.list();
    const names = items.map((t) => t.name);
    for (const name of seeds) expect(names).toContain(name);
    expect(names).toEqual([...names].sort());
  });

  it('upsert updates in place and keeps fields left out; null clears them', async () => {
    const schema = { type: 'object', properties: { jobId: { type: 'string' } }, required: ['jobId'] };
    const first = await admin.eventTypes.upsert({ name: 'render.started', description: 'v1', schema });
    expect(first.schema).toEqual(schema);
    const second = await admin.eventTypes.upsert({ name: 'render.started', description: 'v2' });
    expect(second).toMatchObject({ description: 'v2', schema });
    expect(second.createdAt).toBe(first.createdAt);
    expect(await admin.eventTypes.upsert({ name: 'render.started' })).toMatchObject({ description: 'v2', schema });
    const cleared = await admin.eventTypes.upsert({ name: 'render.started', description: null, schema: null });
    expect(cleared).toMatchObject({ description: null, schema: null });
    const all = await admin.eventTypes.list();
    expect(all.items.filter((t) => t.name === 'render.started')).toHaveLength(1);
  });

  it('archive hides a type from the default list; upsert brings it back', async () => {
    await admin.eventTypes.upsert({ name: 'legacy.thing', description: 'old' });
    const archived = await admin.eventTypes.archive({ name: 'legacy.thing' });
    // Archived by this call: at its time.
    expect(archived.archived).toBe(true);
    expect(archived.archivedAt).toBe(archived.updatedAt);
    expect((await admin.eventTypes.list()).items.map((t) => t.name)).not.toContain('legacy.thing');
    const withArchived = await admin.eventTypes.list({ includeArchived: true });
    expect(withArchived.items.find((t) => t.name === 'legacy.thing')).toMatchObject({ archived: true });

    // Archiving again is harmless and keeps the first archive time.
    expect((await admin.eventTypes.archive({ name: 'legacy.thing' })).archivedAt).toBe(archived.archivedAt);

    const back = await admin.eventTypes.upsert({ name: 'legacy.thing' });
    expect(back).toMatchObject({ archived: false, archivedAt: null, description: 'old' });
    expect((await admin.eventTypes.list()).items.map((t) => t.name)).toContain('legacy.thing');
  });

  it('archiving an unknown type → NOT_FOUND', async () => {
    expect(await codeOf(admin.eventTypes.archive({ name: 'never.registered' }))).toBe('NOT_FOUND');
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
      const error = await failureOf(admin.eventTypes.upsert({ name }));
      expect(error.code).toBe('BAD_REQUEST');
      // Refused by the input schema, for the name and nothing else.
      expect(new Set(error.zodIssues?.map((issue) => issue.path.join('.')))).toEqual(new Set(['name']));
    });
  }

  it('accepts exactly 100 characters and every allowed character', async () => {
    await admin.eventTypes.upsert({ name: 'a'.repeat(100) });
    await admin.eventTypes.upsert({ name: 'z9_-.x' });
  });

  it('reserves the hookline. prefix', async () => {
    for (const name of ['hookline.test', 'hookline.anything']) {
      const error = await failureOf(admin.eventTypes.upsert({ name }));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('reserved');
    }
    // Only the dotted prefix is reserved.
    await admin.eventTypes.upsert({ name: 'hooklines.done' });
  });
});

describe('schemas', () => {
  it('must be a JSON object', async () => {
    for (const schema of [[], 'string', 42, true]) {
      expect(await codeOf(admin.eventTypes.upsert({ name: 'schema.bad', schema: schema as never }))).toBe('BAD_REQUEST');
    }
  });

  it('may be at most 64 KiB serialized', async () => {
    const big = { description: 'x'.repeat(64 * 1024) };
    const error = await failureOf(admin.eventTypes.upsert({ name: 'schema.big', schema: big }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('64 KiB');
    const fits = { description: 'x'.repeat(60 * 1024) };
    expect((await admin.eventTypes.upsert({ name: 'schema.fits', schema: fits })).schema).toEqual(fits);
  });

  it('may not contain NUL characters (PostgreSQL jsonb cannot store them)', async () => {
    const error = await failureOf(admin.eventTypes.upsert({ name: 'schema.nul', schema: { title: 'a\u0000b' } }));
    expect(error.code).toBe('BAD_REQUEST');
  });
});

describe('auth', () => {
  it('a tenant key may list but not upsert or archive', async () => {
    await admin.eventTypes.upsert({ name: 'auth.visible' });
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
