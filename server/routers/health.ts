// health: a liveness answer anyone may ask for, with the running version.
import { createRequire } from 'node:module';
import { healthSchema } from '../../shared/api/health.js';
import { publicProcedure } from '../trpc.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
export const hooklineVersion = version;

export const healthProcedure = publicProcedure
  .meta({ openapi: { method: 'GET', path: '/health', tags: ['health'], summary: 'Liveness and version', protect: false } })
  .output(healthSchema)
  .query(() => ({ ok: true as const, version }));
