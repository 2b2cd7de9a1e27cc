// The tenant-scoped finders of db/sql/ (findEndpoint, findEvent, findDelivery, findTenant): the
// owner finds its row with the columns asked for, another tenant finds nothing (as for a missing
// id), and the operator's view (tenant undefined) finds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../db/client.js';
import { deliveries, endpoints, events, tenants } from '../db/schema.js';
import { findDelivery, listEventDeliveries } from '../db/sql/deliveries.js';
import { findEndpoint } from '../db/sql/endpoints.js';
import { findEvent } from '../db/sql/events.js';
import { findTenant } from '../db/sql/tenants.js';
import { newId } from '../shared/ids.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let database: TestDatabase;
let connection: Database;
const owner = newId('tenant');
const other = newId('tenant');
const endpointId = newId('endpoint');
const eventId = newId('event');
const deliveryId = newId('delivery');

beforeAll(async () => {
  database = await createTestDatabase();
  connection = connectDatabase(database.url, { max: 1 });
  const { db } = connection;
  await db.insert(tenants).values([
    { id: owner, name: 'Owner', apiKeyPrefix: owner, apiKeyHash: 'x', signingSecret: 'x' },
    { id: other, name: 'Other', apiKeyPrefix: other, apiKeyHash: 'x', signingSecret: 'x' },
  ]);
  await db.insert(endpoints).values({ id: endpointId, tenantId: owner, url: 'http://127.0.0.1:9/', secret: 'sealed', disabled: true });
  await db.insert(events).values({ id: eventId, tenantId: owner, type: 'job.completed', payload: '{}' });
  await db.insert(deliveries).values({ id: deliveryId, tenantId: owner, eventId, endpointId });
});
afterAll(async () => {
  await connection.close();
  await database.drop();
});

describe('tenant-scoped finders', () => {
  it('findEndpoint: the owner gets the columns asked for; another tenant gets nothing', async () => {
    const { db } = connection;
    expect(await findEndpoint(db, owner, endpointId, { id: endpoints.id, disabled: endpoints.disabled })).toEqual({
      id: endpointId,
      disabled: true,
    });
    expect(await findEndpoint(db, other, endpointId, { id: endpoints.id })).toBeUndefined();
    expect(await findEndpoint(db, owner, newId('endpoint'), { id: endpoints.id })).toBeUndefined();
    expect(await findEndpoint(db, undefined, endpointId, { tenantId: endpoints.tenantId })).toEqual({ tenantId: owner });
  });

  it('findEvent and findDelivery: the same scoping; Date columns come back as Date', async () => {
    const { db } = connection;
    const event = await findEvent(db, owner, eventId, { id: events.id, createdAt: events.createdAt });
    expect(event?.id).toBe(eventId);
    expect(event?.createdAt).toBeInstanceOf(Date);
    expect(await findEvent(db, other, eventId, { id: events.id })).toBeUndefined();
    expect(await findEvent(db, undefined, eventId, { tenantId: events.tenantId })).toEqual({ tenantId: owner });
    expect(await findDelivery(db, owner, deliveryId, { id: deliveries.id, status: deliveries.status })).toEqual({
      id: deliveryId,
      status: 'pending',
    });
    expect(await findDelivery(db, other, deliveryId, { id: deliveries.id })).toBeUndefined();
    expect((await listEventDeliveries(db, { tenantId: owner, eventId })).map((d) => d.id)).toEqual([deliveryId]);
    expect(await listEventDeliveries(db, { tenantId: other, eventId })).toEqual([]);
  });

  it('findTenant: by id', async () => {
    expect(await findTenant(connection.db, owner, { name: tenants.name })).toEqual({ name: 'Owner' });
    expect(await findTenant(connection.db, newId('tenant'), { name: tenants.name })).toBeUndefined();
  });
});
