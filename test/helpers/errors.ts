// Reading tRPC errors in tests: the error a call failed with, or just its code.
import { TRPCClientError } from '@trpc/client';
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

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return (await errorOf(promise)).data?.code ?? 'none';
}
