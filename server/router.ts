// The application router: every procedure of the API. Clients import only `type AppRouter`.
import { deliveriesRouter } from './routers/deliveries.js';
import { endpointsRouter } from './routers/endpoints.js';
import { eventsRouter } from './routers/events.js';
import { eventTypesRouter } from './routers/eventTypes.js';
import { healthProcedure } from './routers/health.js';
import { portalRouter } from './routers/portal.js';
import { tenantsRouter } from './routers/tenants.js';
import { createCallerFactory, router } from './trpc.js';

export const appRouter = router({
  health: healthProcedure,
  tenants: tenantsRouter,
  eventTypes: eventTypesRouter,
  endpoints: endpointsRouter,
  events: eventsRouter,
  deliveries: deliveriesRouter,
  portal: portalRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
