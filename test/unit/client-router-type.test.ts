// The client's router type (client/router.ts, what @hookline/client's declarations are made from)
// against the server's: every procedure, with the same input and output types. Checked by tsc.
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter as ClientRouter } from '../../client/router.js';
import type { AppRouter as ServerRouter } from '../../server/router.js';

describe("the client's view of the router", () => {
  it("has every procedure, with the server's inputs and outputs", () => {
    expectTypeOf<inferRouterInputs<ClientRouter>>().toEqualTypeOf<inferRouterInputs<ServerRouter>>();
    expectTypeOf<inferRouterOutputs<ClientRouter>>().toEqualTypeOf<inferRouterOutputs<ServerRouter>>();
  });
});
