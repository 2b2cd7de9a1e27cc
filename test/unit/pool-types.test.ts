// The two query pools (server/deps.ts) cannot be mixed up: the delivery path runs on the worker's
// delivery pool (one query deep, no transactions) and services that run transactions on the
// process' pool. Checked by the compiler (`npx tsc --noEmit`, part of `npm test`): were the types
// the same again, these assertions would fail to compile.
import { describe, expectTypeOf, it } from 'vitest';
import type { createDeliveryLoader } from '../../server/delivery/load.js';
import type { createAttemptRecorder } from '../../server/delivery/record.js';
import type { retryDelivery } from '../../server/delivery/requeue.js';
import type { AppDeps, DeliveryDeps } from '../../server/deps.js';
import type { createEndpoint } from '../../server/endpoints/service.js';
import type { readWithTimeout } from '../../server/limits/read-timeout.js';
import type { listTenants } from '../../server/tenants/service.js';

describe('pool types', () => {
  it('the delivery path takes the delivery pool, not the process pool', () => {
    expectTypeOf<DeliveryDeps>().toExtend<Parameters<typeof createAttemptRecorder>[0]>();
    expectTypeOf<DeliveryDeps>().toExtend<Parameters<typeof createDeliveryLoader>[0]>();
    expectTypeOf<AppDeps>().not.toExtend<Parameters<typeof createAttemptRecorder>[0]>();
    expectTypeOf<AppDeps>().not.toExtend<Parameters<typeof createDeliveryLoader>[0]>();
  });

  it('what runs transactions takes the process pool, not the delivery pool', () => {
    expectTypeOf<AppDeps>().toExtend<Parameters<typeof retryDelivery>[0]>();
    expectTypeOf<AppDeps>().toExtend<Parameters<typeof createEndpoint>[0]>();
    expectTypeOf<AppDeps>().toExtend<Parameters<typeof readWithTimeout>[0]>();
    expectTypeOf<DeliveryDeps>().not.toExtend<Parameters<typeof retryDelivery>[0]>();
    expectTypeOf<DeliveryDeps>().not.toExtend<Parameters<typeof createEndpoint>[0]>();
    expectTypeOf<DeliveryDeps>().not.toExtend<Parameters<typeof readWithTimeout>[0]>();
  });

  it('what works on either pool takes either', () => {
    expectTypeOf<AppDeps>().toExtend<Parameters<typeof listTenants>[0]>();
    expectTypeOf<DeliveryDeps>().toExtend<Parameters<typeof listTenants>[0]>();
  });
});
