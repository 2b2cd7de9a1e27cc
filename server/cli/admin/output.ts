// How `hookline admin` prints: JSON for scripts (`--json`), aligned tables and label/value lists for
// people, and the one-line error. Pure formatting, no I/O.
import { HooklineError } from '../../../client/index.js';

/** What a table cell or field may hold; null, undefined and '' print as `-`. */
export type CellValue = string | number | boolean | null | undefined;

export interface Column<T> {
  header: string;
  value: (row: T) => CellValue;
}

/** The result as scripts read it: the API's JSON, indented. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** An aligned table with a header row; `empty` when there are no rows. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const headers = columns.map((column) => column.header);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** `label  value` lines, labels aligned. */
export function formatFields(fields: ReadonlyArray<readonly [label: string, value: CellValue]>): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${cell(value)}`.trimEnd()).join('\n');
}

/** `a=1, b=2`; `-` when empty. */
export function formatRecord(record: Readonly<Record<string, string>> | null | undefined): string {
  const entries = Object.entries(record ?? {});
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}=${value}`).join(', ');
}

/** `a, b`; `-` when empty (or `whenEmpty`). */
export function formatList(values: readonly string[] | null | undefined, whenEmpty = '-'): string {
  return values && values.length > 0 ? values.join(', ') : whenEmpty;
}

/** The one line printed after `hookline: ` when a command fails, e.g. `NOT_FOUND: tenant not found`. */
export function describeError(error: unknown): string {
  if (error instanceof HooklineError) return `${error.code}: ${oneLine(error.message)}`;
  return oneLine(error instanceof Error ? error.message : String(error));
}

/** A value as a table cell: `-` for nothing, control characters escaped (names come from the API). */
function cell(value: CellValue): string {
  if (value === null || value === undefined || value === '') return '-';
  return escapeControl(String(value));
}

function oneLine(text: string): string {
  return escapeControl(text.replace(/\s*\n\s*/g, ' ').trim());
}

function escapeControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
