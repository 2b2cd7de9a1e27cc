// health: a liveness answer anyone may ask for, with the running version.
import { createRequire } from 'node:module';
import { publicProcedure } from '../trpc.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
export const hooklineVersion = version;

export const healthProcedure = publicProcedure.query(() => ({ ok: true as const, version }));
