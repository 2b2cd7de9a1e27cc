// Reads a request body whole before tRPC sees it. tRPC's node adapter otherwise wraps the body in
// a web ReadableStream and a Fetch Request per request; given the body as a string in `req.body`
// (the adapter's documented path for pre-parsed bodies) it skips the stream. Measured on the 2-core
// box (bench ingest, and a trivial mutation alone): about a third less CPU per request.
// Only bodies that declare their length within the limit are read here; anything else (chunked,
// or over the limit) goes to tRPC untouched, which streams it and answers PAYLOAD_TOO_LARGE itself.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function readDeclaredBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodySize: number,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? Number.NaN : Number(declared);
  if (req.method === 'GET' || req.method === 'HEAD' || !Number.isSafeInteger(length) || length > maxBodySize) {
    handle(req, res);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => {
    (req as IncomingMessage & { body?: string }).body = Buffer.concat(chunks).toString('utf8');
    handle(req, res);
  });
  // A client gone mid-body gets no answer; the socket is already closing.
  req.once('error', () => res.destroy());
}
