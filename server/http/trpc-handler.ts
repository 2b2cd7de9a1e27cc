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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler, type FetchHandlerRequestOptions } from '@trpc/server/adapters/fetch';
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
  return (req, res) => {
    const answer = async (body: string | ReadableStream | undefined) => {
      const response = await fetchRequestHandler({
        ...handlerOptions,
        req: toFetchRequest(req, body),
        createContext: ({ info }) => createContext({ req, info }),
      });
      const text = await response.text();
      const outgoing: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        outgoing[name] = value;
      });
      outgoing['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(response.status, outgoing);
      res.end(text);
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
