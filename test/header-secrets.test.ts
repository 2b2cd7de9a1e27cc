// Custom header values (receiver credentials), through the router in-process (createCaller) and a
// real worker: sealed at rest, masked by get and list, kept when an update sends them back masked,
// delivered in plaintext to the receiver; rows stored in plaintext by an earlier release are
// delivered before and after the code migration seals them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../db/migrate.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { adminCaller, callerFor, newTenantCaller, type Caller } from './helpers/caller.js';
import { failureOf } from './helpers/errors.js';
import { cleanupTracker } from './helpers/fixtures.js';
import type { Receiver } from './helpers/receiver.js';

let app: TestApp;
let tenantId: string;
let admin: Caller;
let tenant: Caller;
const cleanup = cleanupTracker();

const token = 'Bearer sk_live_9f8e7d6c5b4a39281706abcd1234';
const teamKey = 'team-key-0123456789-WXYZ';

beforeAll(async () => {
  app = await startTestApp({ worker: true });
  admin = adminCaller(app);
  await admin.eventTypes.upsert({ name: 'job.completed' });
  ({ tenantId, client: tenant } = await newTenantCaller(app, 'Header Co'));
});
afterEach(() => cleanup.runAll());
afterAll(() => app.close());

async function storedHeaders(endpointId: string): Promise<string> {
  const [row] = await app.deps.sql<Array<{ headers: string }>>`select headers::text as headers from endpoints where id = ${endpointId}`;
  return row!.headers;
}

/** Sends one event and returns the request the receiver got for it. */
async function deliverOne(receiver: Receiver, marker: string) {
  await admin.events.send({ tenantId, type: 'job.completed', payload: { marker } });
  const [request] = await receiver.waitFor(1, { match: (r) => r.body.includes(marker) });
  return request!;
}

describe('custom header values', () => {
  it('are sealed at rest, masked by create, get and list, and delivered in plaintext', async () => {
    const receiver = await cleanup.receiver();
    const { endpoint } = await tenant.endpoints.create({
      url: `${receiver.url}/hook`,
      headers: { Authorization: token, 'X-Team-Key': teamKey, 'X-Team': 'video' },
    });
    const masked = { authorization: 'Bearer ••••1234', 'x-team-key': '••••WXYZ', 'x-team': '••••' };
    expect(endpoint.headers).toEqual(masked);
    expect((await tenant.endpoints.get({ endpointId: endpoint.id })).headers).toEqual(masked);
    expect((await admin.endpoints.list({ tenantId })).items.find((e) => e.id === endpoint.id)?.headers).toEqual(masked);

    const stored = await storedHeaders(endpoint.id);
    expect(stored).not.toContain('sk_live');
    expect(stored).not.toContain('9f8e7d6c5b4a39281706abcd1234');
    expect(stored).not.toContain(teamKey);
    expect(stored).not.toContain('video');
    expect(Object.keys(JSON.parse(stored) as object).sort()).toEqual(['authorization', 'x-team', 'x-team-key']);
    for (const value of Object.values(JSON.parse(stored) as Record<string, string>)) expect(value).toMatch(/^§v1\./);

    const request = await deliverOne(receiver, 'plain-on-the-wire');
    expect(request.headers.authorization).toBe(token);
    expect(request.headers['x-team-key']).toBe(teamKey);
    expect(request.headers['x-team']).toBe('video');
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('get → edit → save: masked values sent back keep the stored ones; the receiver gets the real values', async () => {
    const receiver = await cleanup.receiver();
    const { endpoint } = await tenant.endpoints.create({
      url: `${receiver.url}/hook`,
      headers: { Authorization: token, 'X-Team': 'video' },
    });
    const got = await tenant.endpoints.get({ endpointId: endpoint.id });
    const saved = await tenant.endpoints.update({
      endpointId: endpoint.id,
      description: 'edited in a form',
      headers: { ...got.headers, 'x-team': 'audio', 'X-Added': 'new-value-0123456789' },
    });
    expect(saved.headers).toEqual({ authorization: 'Bearer ••••1234', 'x-team': '••••', 'x-added': '••••6789' });
    expect(await storedHeaders(endpoint.id)).not.toContain('sk_live');

    const request = await deliverOne(receiver, 'after-edit');
    expect(request.headers.authorization).toBe(token);
    expect(request.headers['x-team']).toBe('audio');
    expect(request.headers['x-added']).toBe('new-value-0123456789');

    // The admin key works the same way, and saving twice changes nothing.
    await admin.endpoints.update({ tenantId, endpointId: endpoint.id, headers: saved.headers });
    expect((await deliverOne(receiver, 'saved-twice')).headers.authorization).toBe(token);
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });

  it('a masked value that is not the current mask of that header → BAD_REQUEST, nothing changes', async () => {
    const { endpoint } = await tenant.endpoints.create({
      url: 'https://hooks.example.com/h',
      headers: { Authorization: token, 'X-Team': 'video' },
    });
    const before = await storedHeaders(endpoint.id);
    const attempts: Array<Record<string, string>> = [
      { Authorization: 'Bearer ••••9999' },
      { Authorization: 'Bearer ••••1234', 'X-Other': '••••' },
      { 'X-Team': 'Bearer ••••1234' },
    ];
    for (const headers of attempts) {
      const error = await failureOf(tenant.endpoints.update({ endpointId: endpoint.id, headers }));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('is masked but is not the mask of its stored value');
    }
    // A masked value at creation is no value at all.
    expect((await failureOf(tenant.endpoints.create({ url: 'https://hooks.example.com/h', headers: { A: '••••' } }))).code).toBe(
      'BAD_REQUEST',
    );
    expect(await storedHeaders(endpoint.id)).toBe(before);
    // Another tenant's endpoint is not found, masked headers or not.
    const other = await admin.tenants.create({ name: 'Other' });
    const error = await failureOf(
      callerFor(app, other.apiKey).endpoints.update({ endpointId: endpoint.id, headers: { Authorization: 'Bearer ••••1234' } }),
    );
    expect(error.code).toBe('NOT_FOUND');
    await tenant.endpoints.delete({ endpointId: endpoint.id });
  });
});

describe('rows stored in plaintext by an earlier release', () => {
  it('are delivered before the code migration, sealed by it (idempotently), and delivered after', async () => {
    const receiver = await cleanup.receiver();
    const { endpoint } = await tenant.endpoints.create({ url: `${receiver.url}/legacy` });
    const untouched = await tenant.endpoints.create({ url: `${receiver.url}/none` });
    // As the previous release wrote them: plaintext values in the jsonb column.
    const legacy = { authorization: token, 'x-team': 'video', 'x-empty': '' };
    await app.deps.sql`update endpoints set headers = ${JSON.stringify(legacy)}::text::jsonb where id = ${endpoint.id}`;
    const untouchedBefore = await storedHeaders(untouched.endpoint.id);

    expect((await tenant.endpoints.get({ endpointId: endpoint.id })).headers).toEqual({
      authorization: 'Bearer ••••1234',
      'x-team': '••••',
      'x-empty': '••••',
    });
    const before = await deliverOne(receiver, 'before-migration');
    expect(before.headers.authorization).toBe(token);
    expect(before.headers['x-team']).toBe('video');

    await migrateDatabase(app.testDatabase.url, { secretBox: app.deps.secretBox });
    const sealed = await storedHeaders(endpoint.id);
    expect(sealed).not.toContain('sk_live');
    expect(sealed).not.toContain('video');
    const sealedValues = JSON.parse(sealed) as Record<string, string>;
    expect(Object.keys(sealedValues).sort()).toEqual(['authorization', 'x-empty', 'x-team']);
    for (const value of Object.values(sealedValues)) expect(value).toMatch(/^§v1\./);
    expect(await storedHeaders(untouched.endpoint.id)).toBe(untouchedBefore);

    // Idempotent: a second run (every process start runs it) leaves sealed values as they are.
    await migrateDatabase(app.testDatabase.url, { secretBox: app.deps.secretBox });
    expect(await storedHeaders(endpoint.id)).toBe(sealed);

    const after = await deliverOne(receiver, 'after-migration');
    expect(after.headers.authorization).toBe(token);
    expect(after.headers['x-team']).toBe('video');
    expect(after.headers['x-empty']).toBe('');
    expect((await tenant.endpoints.get({ endpointId: endpoint.id })).headers.authorization).toBe('Bearer ••••1234');
    await tenant.endpoints.delete({ endpointId: endpoint.id });
    await tenant.endpoints.delete({ endpointId: untouched.endpoint.id });
  });
});
