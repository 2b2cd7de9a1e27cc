// Reading tRPC errors in tests: the error a call failed with, or just its code — over HTTP (the typed
// client's TRPCClientError) or in-process (createCaller's TRPCError, see caller.ts).
import { TRPCClientError } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import type { AppRouter } from '../../server/router.js';

export async function errorOf(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<AppRouter>;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** The code and message a call failed with, whether it went over HTTP or through createCaller. */
export async function failureOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, message: error.message };
    if (error instanceof TRPCClientError) return { code: (error as TRPCClientError<AppRouter>).data?.code ?? 'none', message: error.message };
    throw error;
  }
  throw new Error('expected the call to fail');
}

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return (await failureOf(promise)).code;
}
