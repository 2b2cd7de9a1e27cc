// PostgreSQL error codes as seen through Drizzle (which wraps the driver's error in `cause`), and
// which errors mean "the database cannot be reached right now" rather than "this query is wrong".

/** The errors in `error`'s cause chain, outermost first (AggregateError members included). */
function* causeChain(error: unknown, depth = 0): Generator<object> {
  for (let e: unknown = error; typeof e === 'object' && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    yield e;
    const members = (e as { errors?: unknown }).errors;
    if (Array.isArray(members)) for (const member of members) yield* causeChain(member, depth + 1);
  }
}

export function pgErrorCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown): boolean => pgErrorCode(error) === '23505';

/**
 * Connection-level failures: the server is down, restarting, failing over or refusing connections.
 * Codes of the socket (Node), of postgres.js and of node-postgres (graphile-worker's driver), and
 * the SQLSTATEs of a server that ends or refuses sessions: class 08 (connection exception), 57P01
 * admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections.
 */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/**
 * Messages with no code of their own for a lost connection (node-postgres), and a database closed to
 * new sessions (`allow_connections false`, SQLSTATE 55000, a code that means much else besides).
 */
const CONNECTION_ERROR_MESSAGES =
  /Connection terminated|Client has encountered a connection error|Cannot use a pool after calling end|is not currently accepting connections/;

export function isConnectionError(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && CONNECTION_ERROR_MESSAGES.test(message)) return true;
  }
  return false;
}
