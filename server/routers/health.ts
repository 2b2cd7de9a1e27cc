// health: a liveness answer anyone may ask for, with the running version.
import { healthSchema } from '../../shared/api/health.js';
import { hooklineVersion } from '../../shared/version.js';
import { publicProcedure } from '../trpc.js';

export const healthProcedure = publicProcedure
  .meta({ openapi: { method: 'GET', path: '/health', tags: ['health'], summary: 'Liveness and version', protect: false } })
  .output(healthSchema)
  .query(() => ({ ok: true as const, version: hooklineVersion }));
