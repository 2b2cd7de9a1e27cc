// Group commit for hot statements: calls that arrive while earlier ones are being written are
// gathered and written together, as one statement. A lone call goes out at once (on the next turn
// of the event loop, so calls made in the same turn share it); under load, batches grow by
// themselves, so the number of statements, commits and round trips grows more slowly than the
// number of calls. Each caller gets its own result or error.

export interface BatcherOptions<I> {
  /** Most items in one flush. */
  maxBatch: number;
  /** Most flushes in flight at once (≈ the connections the batcher may occupy). */
  maxInFlight: number;
  /** With `sizeOf`: a flush stops taking items at this total size (its first item always goes). */
  maxBytes?: number;
  sizeOf?: (item: I) => number;
}

/**
 * `flush` gets the items in arrival order and returns one result per item, in the same order; an
 * item's result may be an Error, which is thrown to that caller alone. If `flush` throws, every
 * caller of that batch gets the error.
 */
export function createBatcher<I, O>(flush: (items: I[]) => Promise<Array<O | Error>>, options: BatcherOptions<I>): (item: I) => Promise<O> {
  interface Pending {
    item: I;
    resolve(value: O): void;
    reject(error: unknown): void;
  }
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const { sizeOf } = options;
  const take = (): Pending[] => {
    let count = Math.min(queue.length, options.maxBatch);
    if (sizeOf && options.maxBytes !== undefined) {
      let bytes = sizeOf(queue[0]!.item);
      for (let i = 1; i < count; i++) {
        bytes += sizeOf(queue[i]!.item);
        if (bytes > options.maxBytes) count = i;
      }
    }
    const batch = queue.slice(0, count);
    queue = queue.slice(count);
    return batch;
  };

  const run = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < options.maxInFlight) {
      const batch = take();
      inFlight++;
      Promise.resolve()
        .then(() => flush(batch.map((p) => p.item)))
        .then((results) => {
          if (results.length !== batch.length) throw new Error(`batcher: ${results.length} results for ${batch.length} items`);
          return results;
        })
        .then(
          (results) => {
            batch.forEach((p, i) => {
              const result = results[i];
              if (result instanceof Error) p.reject(result);
              else p.resolve(result as O);
            });
          },
          (error: unknown) => {
            for (const p of batch) p.reject(error);
          },
        )
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  };

  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= options.maxInFlight) return;
    scheduled = true;
    setImmediate(run);
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}

/**
 * A flush for statements that write a whole batch at once. When the statement fails for a reason
 * one item can cause (SQLSTATE class 22 data, 23 integrity, 40 deadlock or serialization), each
 * item is written alone, in turn, and only the failing ones get an error. Anything else (the
 * connection lost, the database down) fails the whole batch.
 */
export function writeAloneOnItemFailure<I, O>(write: (items: I[]) => Promise<O[]>): (items: I[]) => Promise<Array<O | Error>> {
  return async (items) => {
    try {
      return await write(items);
    } catch (error) {
      if (items.length === 1 || !isItemFailure(error)) throw error;
      const results: Array<O | Error> = [];
      for (const item of items) {
        results.push(await write([item]).then(([result]) => result as O, toError));
      }
      return results;
    }
  };
}

function isItemFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|40)[0-9A-Z]{3}$/.test(code);
}

/** A thrown value as an Error, for a batch result. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
