// Reading tRPC errors in tests: the error a call failed with, or just its code — over HTTP (the typed
// client's TRPCClientError) or in-process (createCaller's TRPCError, see caller.ts).
import { TRPCClientError } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import { ZodError, type core } from 'zod';
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

export interface Failure {
  code: string;
  message: string;
  /** The input's zod issues when the input was refused by its schema, else null. */
  zodIssues: core.$ZodIssue[] | null;
}

/** The code, message and zod issues a call failed with, whether it went over HTTP or through createCaller. */
export async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) {
      const zodIssues = error.cause instanceof ZodError ? error.cause.issues : null;
      return { code: error.code, message: error.message, zodIssues };
    }
    if (error instanceof TRPCClientError) {
      const data = (error as TRPCClientError<AppRouter>).data;
      return { code: data?.code ?? 'none', message: error.message, zodIssues: data?.zodIssues ?? null };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return (await failureOf(promise)).code;
}
