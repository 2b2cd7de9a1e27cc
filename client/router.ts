// The client's view of the hookline API: the server's router reduced to what a tRPC client reads
// (each procedure's kind, input and output, and the error shape), with every type spelled out.
// The package's declarations are emitted from `clientRouter` below, whose type TypeScript writes out
// in full: they name only @trpc/server's types, never the server's context, database or drizzle.
// Type-only: nothing here runs (the client imports `type AppRouter` alone).
import type { TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODE_NUMBER, TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure } from '@trpc/server';
import type { AppRouter as ServerRouter } from '../server/router.js';

/** One problem with the input, as the server's validation reported it (a zod issue, in part). */
export interface HooklineIssue {
  code: string;
  message: string;
  path: (string | number)[];
}

/** The error shape of every procedure (server/trpc.ts's errorFormatter). */
export interface HooklineErrorShape {
  code: TRPC_ERROR_CODE_NUMBER;
  message: string;
  data: {
    code: TRPC_ERROR_CODE_KEY;
    httpStatus: number;
    path: string | undefined;
    zodIssues: HooklineIssue[] | null;
  };
}

/** A JSON value's type written out member by member (named server types become plain objects). */
// biome-ignore lint/suspicious/noConfusingVoidType: a procedure that returns nothing has the output type void
type Plain<T> = T extends string | number | boolean | bigint | symbol | null | undefined | void | Date
  ? T
  : T extends readonly (infer Item)[]
    ? T extends Item[]
      ? Plain<Item>[]
      : readonly Plain<Item>[]
    : T extends object
      ? { [Key in keyof T]: Plain<T[Key]> }
      : T;

/**
 * Every procedure of a router record, with plain input and output types and no context. (Written as
 * conditional types: TypeScript writes a resolved conditional out in full, where it would keep the
 * name of a plain alias.)
 */
type ClientRecord<Record> = Record extends object
  ? {
      [Key in keyof Record]: Record[Key] extends TRPCQueryProcedure<infer Def>
        ? TRPCQueryProcedure<{ input: Plain<Def['input']>; output: Plain<Def['output']>; meta: object }>
        : Record[Key] extends TRPCMutationProcedure<infer Def>
          ? TRPCMutationProcedure<{ input: Plain<Def['input']>; output: Plain<Def['output']>; meta: object }>
          : ClientRecord<Record[Key]>;
    }
  : never;

declare function describeRouter<Router extends { _def: { record: object } }>(): TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: HooklineErrorShape; transformer: false },
  ClientRecord<Router['_def']['record']>
>;

/** Never evaluated (this module is imported for its types only); its inferred type is what matters. */
export const clientRouter = describeRouter<ServerRouter>();

/** The hookline API as a tRPC client sees it: `createTRPCClient<AppRouter>(…)`. */
export type AppRouter = typeof clientRouter;
