// Time options of the admin commands (`--since`, `--until`): an ISO time or a duration ago.
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../../../shared/duration.js';

/**
 * `--since`: an ISO-8601 time (`2025-05-01T12:00:00Z`), or a duration ago (`30m`, `2h`, `1d`), sent
 * as the ISO time it stands for.
 */
export function parseSince(raw: string): string {
  try {
    return new Date(Date.now() - parseDuration(raw)).toISOString();
  } catch {
    // Not a duration: an ISO time, checked by the server.
  }
  if (Number.isNaN(Date.parse(raw))) {
    throw new InvalidArgumentError('expected an ISO-8601 time (2025-05-01T12:00:00Z) or a duration ago (30m, 2h, 1d).');
  }
  return raw;
}
