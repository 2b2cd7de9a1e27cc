// Endpoint payload filters: which events (by their payload) an endpoint receives. Pure code, shared
// by the API (which validates filters at registration) and anyone who wants to predict a delivery.
//
// A filter is a JSON object. Each key is either a dotted path into the payload (`"job.status"`),
// whose value is a condition, or `$and` / `$or` (a non-empty list of filters) or `$not` (a filter).
// All keys must hold. A condition is either a plain JSON value (the payload's value equals it) or an
// object of operators, all of which must hold:
//   $eq $ne $in $nin   equality (deep, as JSON: key order does not matter, 1 equals 1.0)
//   $gt $gte $lt $lte  numeric comparison (a value that is not a number does not match)
//   $exists            true: the path is present (JSON null counts); false: it is absent
//   $startsWith        the value is a string starting with the operand
// A missing path matches only $ne, $nin and `$exists: false`. Path segments name object keys; on an
// array, a segment that is a whole number (`items.0.sku`) picks an element.
//
// The delivery engine evaluates filters in PostgreSQL: `endpoints.filter_program` is the filter
// compiled by `hookline_compile_payload_filter` (a generated column), and the fan-out statement
// judges it with `hookline_payload_matches` (both defined in db/migrations/0006_payload_filters.sql).
// The two must agree: test/payload-filter.test.ts runs every case through both.

/** The largest filter, as JSON in UTF-8. */
export const MAX_PAYLOAD_FILTER_BYTES = 4096;
/** How deeply `$and` / `$or` / `$not` may nest. */
export const MAX_PAYLOAD_FILTER_DEPTH = 8;
/** The most values one `$in` / `$nin` may list. */
export const MAX_PAYLOAD_FILTER_IN_VALUES = 100;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type PayloadFilter = { [key: string]: JsonValue };

const COMBINERS = new Set(['$and', '$or', '$not']);
const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$startsWith']);
// The same rule as the SQL function: a whole number without leading zeros, at most 9 digits.
const ARRAY_INDEX = /^(0|[1-9][0-9]{0,8})$/;

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object whose keys are all operators (`{ "$gt": 5 }`); `{}` is a plain value. */
function isOperatorObject(value: unknown): value is { [operator: string]: JsonValue } {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith('$'));
}

/** Reads a filter, or returns why it is not one (the message names the offending key). */
export function parsePayloadFilter(value: unknown): { filter: PayloadFilter } | { error: string } {
  if (!isObject(value)) return { error: 'a filter must be a JSON object, e.g. {"job.status": "completed"}' };
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > MAX_PAYLOAD_FILTER_BYTES) {
    return { error: `a filter is at most ${MAX_PAYLOAD_FILTER_BYTES} bytes as JSON (this one is ${bytes})` };
  }
  const error = filterError(value, 'filter', 0);
  return error === undefined ? { filter: value } : { error };
}

function filterError(filter: unknown, at: string, depth: number): string | undefined {
  if (!isObject(filter)) return `${at}: a filter must be a JSON object`;
  if (depth > MAX_PAYLOAD_FILTER_DEPTH) return `${at}: $and / $or / $not nest at most ${MAX_PAYLOAD_FILTER_DEPTH} deep`;
  for (const [key, condition] of Object.entries(filter)) {
    const here = `${at}.${key}`;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) return `${here}: must be a non-empty list of filters`;
      for (const [i, item] of condition.entries()) {
        const error = filterError(item, `${here}[${i}]`, depth + 1);
        if (error !== undefined) return error;
      }
    } else if (key === '$not') {
      const error = filterError(condition, here, depth + 1);
      if (error !== undefined) return error;
    } else if (key.startsWith('$')) {
      return `${here}: unknown operator "${key}" (combine filters with ${[...COMBINERS].join(' ')})`;
    } else {
      const error = pathError(key, here) ?? conditionError(condition, here);
      if (error !== undefined) return error;
    }
  }
  return undefined;
}

function pathError(path: string, at: string): string | undefined {
  if (path.length > 256) return `${at}: a path is at most 256 characters`;
  if (path.split('.').some((segment) => segment === '')) {
    return `${at}: a path is keys separated by single dots, e.g. "job.status"`;
  }
  return undefined;
}

function conditionError(condition: JsonValue, at: string): string | undefined {
  if (!isObject(condition)) return undefined;
  const keys = Object.keys(condition);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length === 0) return undefined;
  if (operators.length !== keys.length) {
    return `${at}: a condition is either a value or an object of operators, not both (use "a.b" paths for nested keys)`;
  }
  for (const operator of operators) {
    const operand = condition[operator];
    const here = `${at}.${operator}`;
    if (!OPERATORS.has(operator)) return `${here}: unknown operator (use one of ${[...OPERATORS].join(' ')})`;
    switch (operator) {
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (typeof operand !== 'number' || !Number.isFinite(operand)) return `${here}: must be a number`;
        break;
      case '$in':
      case '$nin':
        if (!Array.isArray(operand)) return `${here}: must be a list of values`;
        if (operand.length > MAX_PAYLOAD_FILTER_IN_VALUES) return `${here}: lists at most ${MAX_PAYLOAD_FILTER_IN_VALUES} values`;
        break;
      case '$exists':
        if (typeof operand !== 'boolean') return `${here}: must be true or false`;
        break;
      case '$startsWith':
        if (typeof operand !== 'string') return `${here}: must be a string`;
        break;
    }
  }
  return undefined;
}

/** Whether an event with this payload goes to an endpoint with this (valid) filter. */
export function matchesPayloadFilter(filter: PayloadFilter, payload: unknown): boolean {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and') {
      if (!(condition as PayloadFilter[]).every((item) => matchesPayloadFilter(item, payload))) return false;
    } else if (key === '$or') {
      if (!(condition as PayloadFilter[]).some((item) => matchesPayloadFilter(item, payload))) return false;
    } else if (key === '$not') {
      if (matchesPayloadFilter(condition as PayloadFilter, payload)) return false;
    } else if (!matchesCondition(valueAt(payload, key), condition)) {
      return false;
    }
  }
  return true;
}

/** The payload's value at a dotted path; undefined when absent. */
function valueAt(payload: unknown, path: string): unknown {
  let value = payload;
  for (const segment of path.split('.')) {
    if (isObject(value)) value = Object.hasOwn(value, segment) ? value[segment] : undefined;
    else if (Array.isArray(value) && ARRAY_INDEX.test(segment)) value = value[Number(segment)];
    else value = undefined;
    if (value === undefined) return undefined;
  }
  return value;
}

function matchesCondition(value: unknown, condition: JsonValue): boolean {
  if (!isOperatorObject(condition)) return value !== undefined && jsonEqual(value, condition);
  for (const [operator, operand] of Object.entries(condition)) {
    if (!matchesOperator(value, operator, operand)) return false;
  }
  return true;
}

function matchesOperator(value: unknown, operator: string, operand: JsonValue): boolean {
  switch (operator) {
    case '$eq':
      return value !== undefined && jsonEqual(value, operand);
    case '$ne':
      return value === undefined || !jsonEqual(value, operand);
    case '$in':
      return value !== undefined && (operand as JsonValue[]).some((item) => jsonEqual(value, item));
    case '$nin':
      return value === undefined || !(operand as JsonValue[]).some((item) => jsonEqual(value, item));
    case '$gt':
      return typeof value === 'number' && value > (operand as number);
    case '$gte':
      return typeof value === 'number' && value >= (operand as number);
    case '$lt':
      return typeof value === 'number' && value < (operand as number);
    case '$lte':
      return typeof value === 'number' && value <= (operand as number);
    case '$exists':
      return (value !== undefined) === operand;
    case '$startsWith':
      return typeof value === 'string' && value.startsWith(operand as string);
    default:
      return false;
  }
}

/** Equality as PostgreSQL's jsonb `=`: deep, object keys unordered, array elements in order. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return a === b;
}
