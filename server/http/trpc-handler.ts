// The tRPC endpoint on node:http, through tRPC's own fetch adapter (fetchRequestHandler: the same
// resolveResponse, procedures, errors and options as the standalone adapter) with a thin bridge:
// the body is read whole into a string (bounded), handed to tRPC without a fetch `Request` around
// it (see toFetchRequest), and the answer is written in one piece.
//
// Why not the standalone adapter: per request it wraps the body in a web ReadableStream, ties an
// AbortController to the socket and pipes the answer through a WritableStream. On the 2-core box
// a trivial mutation cost ~990 µs of CPU that way and ~590 µs this way (same run, same client),
// and events.send over HTTP is what producers feel (bench: `npm run bench -- ingest`).
// Answers are not streamed: hookline's links (httpLink, httpBatchLink) take whole answers anyway.
// A single mutation (POST of JSON to /trpc/<path>, no batch: every events.send of a producer) skips
// the fetch handler too and calls the procedure as resolveResponse does; its failures are still
// answered by resolveResponse (see answerSingleMutation). test/trpc-single-call.test.ts checks
// that both ways answer alike.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler, type FetchHandlerRequestOptions } from '@trpc/server/adapters/fetch';
import { resolveResponse, type TRPCRequestInfo } from '@trpc/server/http';
import type { AnyProcedure } from '@trpc/server/unstable-core-do-not-import';
import type { Context } from '../context.js';
import type { AppRouter } from '../router.js';

type FetchOptions = FetchHandlerRequestOptions<AppRouter>;

export interface NodeTrpcHandlerOptions {
  router: AppRouter;
  /** Mounted at this path (e.g. `/trpc`). */
  endpoint: string;
  /** A body over this many bytes answers PAYLOAD_TOO_LARGE, as tRPC's own adapters do. */
  maxBodySize: number;
  maxBatchSize: number;
  createContext(opts: { req: IncomingMessage; info: { calls: ReadonlyArray<{ path: string }> } }): Promise<Context>;
  responseMeta: NonNullable<FetchOptions['responseMeta']>;
  onError: NonNullable<FetchOptions['onError']>;
  /** Something failed outside tRPC's own error handling (it answers 500). */
  onUnhandledError(error: unknown): void;
}

export function createNodeTrpcHandler(options: NodeTrpcHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { maxBodySize, createContext, onUnhandledError, ...handlerOptions } = options;
  const writeResponse = async (res: ServerResponse, response: Response) => {
    const text = await response.text();
    const outgoing: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      outgoing[name] = value;
    });
    outgoing['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(response.status, outgoing);
    res.end(text);
  };
  return (req, res) => {
    const answer = async (body: string | ReadableStream | undefined) => {
      const single = typeof body === 'string' ? singleMutationOf(options, req) : undefined;
      if (single && typeof body === 'string') {
        await answerSingleMutation(options, req, res, single, body, writeResponse);
        return;
      }
      const response = await fetchRequestHandler({
        ...handlerOptions,
        req: toFetchRequest(req, body),
        createContext: ({ info }) => createContext({ req, info }),
      });
      await writeResponse(res, response);
    };
    const fail = (error: unknown) => {
      onUnhandledError(error);
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: 'internal error', code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 } } }),
      );
    };

    if (req.method === 'GET' || req.method === 'HEAD') {
      answer(undefined).catch(fail);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodySize) {
        chunks.push(chunk);
        return;
      }
      // Over the limit: stop reading, and let tRPC answer as its adapters do (the body's stream
      // fails with PAYLOAD_TOO_LARGE; the error formatter names the limit).
      req.off('data', onData);
      req.off('end', onEnd);
      const tooLarge = new ReadableStream({
        start(controller) {
          controller.error(new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }));
        },
      });
      answer(tooLarge).catch(fail);
    };
    const onEnd = () => {
      answer(Buffer.concat(chunks).toString('utf8')).catch(fail);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    // A client gone mid-body gets no answer; its socket is already closing.
    req.once('error', () => res.destroy());
  };
}

/** A node:http request's headers as a fetch `Headers`. */
function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return headers;
}

/**
 * The two members of `Headers` tRPC's JSON path reads (get, has), straight from node:http's
 * already parsed, lower-cased headers: no copy, no validation per request.
 */
function headerReader(req: IncomingMessage): Pick<Headers, 'get' | 'has'> {
  const read = (name: string): string | null => {
    const value = req.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return { get: read, has: (name) => read(name) !== null };
}

/**
 * The request as tRPC's fetch handler reads it. A JSON body (every call of hookline's tRPC
 * clients) and a GET get a plain object with exactly the members tRPC's JSON path reads: url,
 * method, headers (get, has), signal and text(). A fetch `Request` costs more than those: undici
 * wraps the body in a web ReadableStream (read back through several promise turns), validates and
 * copies the headers and ties its own AbortController to it. A mutation shaped like events.send
 * took 193–206 µs of CPU per call through the bridge with a `Request`, 143–188 µs without
 * (median of alternating rounds in one process, 2-core box under other load). Any other body
 * (multipart, octet-stream, none declared) gets a real `Request`, so tRPC answers those exactly as
 * before.
 */
function toFetchRequest(req: IncomingMessage, body: string | ReadableStream | undefined): Request {
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  const method = req.method ?? 'GET';
  const headers = headerReader(req);
  const json = body === undefined || (headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
  if (!json)
    return new Request(url, { method, headers: headersOf(req), ...(body !== undefined && { body, duplex: 'half' }) } as RequestInit);
  // Never aborted, as a Request's own signal was not: an answer is written whole or not at all.
  const { signal } = new AbortController();
  const text = typeof body === 'string' ? () => Promise.resolve(body) : () => new Response(body ?? null).text();
  return { url, method, headers, signal, text } as unknown as Request;
}

/** Never aborted: the `info.signal` of a single call (nothing in hookline listens to it). */
const NEVER_ABORTED = new AbortController().signal;

/** A procedure path as tRPC's URLs spell one (`events.send`): nothing to decode, no batch. */
const PLAIN_PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * The mutation a request calls, when it is the plainest of tRPC calls: a POST of a JSON body to
 * `{endpoint}/{path}` with no query string (so not a batch), no streaming `trpc-accept`, naming a
 * mutation. Anything else is answered by tRPC's fetch handler.
 */
function singleMutationOf(options: NodeTrpcHandlerOptions, req: IncomingMessage): { path: string; procedure: AnyProcedure } | undefined {
  if (req.method !== 'POST' || req.headers['trpc-accept'] !== undefined) return undefined;
  const url = req.url ?? '';
  const prefix = `${options.endpoint}/`;
  if (!url.startsWith(prefix) || url.includes('?')) return undefined;
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') return undefined;
  const path = url.slice(prefix.length);
  if (!PLAIN_PATH.test(path)) return undefined;
  const procedure = (options.router._def.procedures as unknown as Record<string, AnyProcedure | undefined>)[path];
  if (procedure?._def.type !== 'mutation') return undefined;
  return { path, procedure };
}

/**
 * One mutation, called as tRPC's resolveResponse calls it (the same context, the procedure with
 * its middlewares, input parsing and output validation), without the fetch handler's request and
 * answer objects, URL parsing, abort controllers and promise turns: events.send over HTTP, a
 * producer's hot path (`npm run bench -- ingest`). A success is written as resolveResponse writes
 * it (`{"result":{"data":…}}`, its headers, `responseMeta`). A failure (the context's or the
 * procedure's) is handed to resolveResponse itself as the call's error, so every error answer
 * (shape, status, headers, onError) is tRPC's own.
 */
async function answerSingleMutation(
  options: NodeTrpcHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  single: { path: string; procedure: AnyProcedure },
  body: string,
  writeResponse: (res: ServerResponse, response: Response) => Promise<void>,
): Promise<void> {
  const { path, procedure } = single;
  // As tRPC's JSON reader: an empty body is no input; the text is parsed when the input is read,
  // and text that is not JSON is BAD_REQUEST with the parser's message.
  let parsed: { input: unknown } | undefined;
  const getRawInput = async (): Promise<unknown> => {
    if (!parsed) {
      try {
        parsed = { input: body ? (JSON.parse(body) as unknown) : undefined };
      } catch (cause) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause });
      }
    }
    return parsed.input;
  };
  const info: TRPCRequestInfo = {
    accept: null,
    type: 'mutation',
    isBatchCall: false,
    calls: [{ batchIndex: 0, path, procedure, getRawInput, result: () => parsed?.input }],
    connectionParams: null,
    signal: NEVER_ABORTED,
    url: null,
  };
  let context: { ok: true; ctx: Context } | { ok: false; error: unknown };
  try {
    context = { ok: true, ctx: await options.createContext({ req, info }) };
  } catch (error) {
    context = { ok: false, error };
  }
  let failure: unknown;
  if (context.ok) {
    try {
      const data: unknown = await procedure({ path, getRawInput, ctx: context.ctx, type: 'mutation', signal: undefined, batchIndex: 0 });
      // (With no transformer configured, serialize is the identity, as in resolveResponse.)
      const answer = { result: { data: options.router._def._config.transformer.output.serialize(data) as unknown } };
      const meta = options.responseMeta({
        ctx: context.ctx,
        info,
        paths: [path],
        type: 'mutation',
        data: [{ result: { data } }],
        errors: [],
        eagerGeneration: false,
      });
      const headers: Record<string, string> = { 'content-type': 'application/json', vary: 'trpc-accept, accept' };
      for (const [name, value] of Object.entries(meta.headers ?? {})) {
        if (typeof value === 'string') headers[name.toLowerCase()] = value;
      }
      const text = JSON.stringify(answer);
      headers['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(meta.status ?? 200, headers);
      res.end(text);
      return;
    } catch (error) {
      failure = error;
    }
  }
  // tRPC answers the failure: its resolveResponse, told the call's error (as its adapters tell it a
  // body error), with the context already made (or its error), so nothing runs twice.
  const request = toFetchRequest(req, body);
  const response = await resolveResponse({
    router: options.router,
    req: request,
    path,
    maxBatchSize: options.maxBatchSize,
    createContext: async () => {
      if (!context.ok) throw context.error;
      return context.ctx;
    },
    error: context.ok ? getTRPCError(failure) : null,
    responseMeta: options.responseMeta,
    onError: (o) => options.onError({ ...o, req: request }),
  });
  await writeResponse(res, response);
}

/** A thrown value as tRPC turns it into its error (getTRPCErrorFromUnknown). */
function getTRPCError(cause: unknown): TRPCError {
  if (cause instanceof TRPCError) return cause;
  if (cause instanceof Error && cause.name === 'TRPCError') return cause as TRPCError;
  const error = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
  if (cause instanceof Error && cause.stack) error.stack = cause.stack;
  return error;
}
