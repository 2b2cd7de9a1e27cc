// The application router: every procedure of the API. Clients import only `type AppRouter`.
import { healthProcedure } from './routers/health.js';
import { tenantsRouter } from './routers/tenants.js';
import { createCallerFactory, router } from './trpc.js';

export const appRouter = router({
  health: healthProcedure,
  tenants: tenantsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
