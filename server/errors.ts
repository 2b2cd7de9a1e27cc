// Domain errors. Services throw these; the tRPC boundary (server/trpc.ts) turns them into
// TRPCErrors with the matching code, so business code never speaks HTTP.
export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The object does not exist, or belongs to another tenant (indistinguishable on purpose). */
export class NotFoundError extends DomainError {}

/** The input is well-formed but not acceptable (unknown event type, forbidden header, unsafe URL…). */
export class InvalidInputError extends DomainError {}

/** The caller has reached a configured limit (e.g. endpoints per tenant). */
export class LimitExceededError extends DomainError {}

export class PayloadTooLargeError extends DomainError {}

/** The request conflicts with existing state (e.g. a duplicate external id). */
export class ConflictError extends DomainError {}

/** The caller has used up a rate limit; it may try again after `retryAfterSeconds` (Retry-After). */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A read ran past its statement_timeout (HOOKLINE_READ_TIMEOUT). */
export class ReadTimeoutError extends DomainError {}
