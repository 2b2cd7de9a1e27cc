// Durations as written in configuration: "250ms", "5s", "5m", "2h", "1d" (a bare number is seconds).
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 5s, 5m, 2h, 1d)`);
  const ms = Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!);
  if (!Number.isFinite(ms) || ms > 30 * 86_400_000) throw new Error(`"${text}" is longer than 30 days`);
  return ms;
}

/** A comma-separated list of durations; the empty string is the empty list. */
export function parseDurationList(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map(parseDuration);
}
