// The API's request size limits, and the answers a caller gets when it goes over one: a tRPC error
// (JSON, with its code) whose message names the limit and the setting behind it, instead of Node's
// bare `431` status line or tRPC's `PAYLOAD_TOO_LARGE` with no message but its code.
import { maxHeaderSize as nodeMaxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The largest request body read: room for the largest payload even when every character needs a JSON escape. */
export function maxRequestBodyBytes(maxPayloadBytes: number): number {
  return maxPayloadBytes * 2 + 64 * 1024;
}

/** The largest events.sendBatch request body read: the batch, plus room for whitespace. */
export function maxBatchRequestBodyBytes(maxBatchBytes: number): number {
  return maxBatchBytes + 64 * 1024;
}

/** tRPC's own error when a body goes over `maxBodySize`: it has no message but its code. */
export function isRequestBodyLimitError(error: TRPCError): boolean {
  return error.code === 'PAYLOAD_TOO_LARGE' && error.message === 'PAYLOAD_TOO_LARGE';
}

export function requestBodyTooLargeMessage(config: { maxPayloadBytes: number; maxBatchBytes: number }, path: string | undefined): string {
  if (path?.includes('events.sendBatch')) {
    return (
      `the request body is larger than the ${maxBatchRequestBodyBytes(config.maxBatchBytes)} bytes the API reads for events.sendBatch: ` +
      `a batch may be at most ${config.maxBatchBytes} bytes serialized (HOOKLINE_MAX_BATCH_BYTES)`
    );
  }
  const { maxPayloadBytes } = config;
  return (
    `the request body is larger than the ${maxRequestBodyBytes(maxPayloadBytes)} bytes the API reads: ` +
    `an event payload may be at most ${maxPayloadBytes} bytes serialized (HOOKLINE_MAX_PAYLOAD_BYTES)`
  );
}

/** Node's parser stops a request whose request line and headers go over this. */
export const maxRequestHeadBytes = nodeMaxHeaderSize;

/**
 * A `clientError` listener for the API's server: the errors Node's HTTP parser raises before a
 * request reaches any handler. Without one Node writes a bare status line (`431` for a URL that is
 * too long); this answers as tRPC does, in JSON with a tRPC code.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // Nothing can be answered on a connection that is gone, or mid-way through a response already
  // (Node's own check: the response in flight on this keep-alive connection has sent its head).
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, message] = describeClientError(error.code);
  const body = JSON.stringify({
    error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status, zodIssues: null } },
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function describeClientError(code: string | undefined): [status: number, code: TRPC_ERROR_CODE_KEY, message: string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        'PAYLOAD_TOO_LARGE',
        `the request URL and headers are larger than the ${maxRequestHeadBytes} bytes the API reads: ` +
          "a query's input travels in the URL, so send a smaller one (or fewer calls in one batch)",
      ];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'PAYLOAD_TOO_LARGE', 'the chunk extensions of the request body are too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'TIMEOUT', 'the request did not arrive in time'];
    default:
      return [400, 'BAD_REQUEST', 'malformed HTTP request'];
  }
}
