// Which database errors mean "unreachable right now" (the API answers SERVICE_UNAVAILABLE) and
// which are the query's own fault (an internal error, or a domain error where one is mapped).
import { describe, expect, it } from 'vitest';
import { isConnectionError, pgErrorCode } from '../../db/errors.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    ['socket refused', withCode('ECONNREFUSED')],
    ['socket reset', withCode('ECONNRESET')],
    ['postgres.js closed', withCode('CONNECTION_CLOSED')],
    ['postgres.js connect timeout', withCode('CONNECT_TIMEOUT')],
    ['admin shutdown', withCode('57P01')],
    ['crash shutdown', withCode('57P02')],
    ['cannot connect now', withCode('57P03')],
    ['class 08', withCode('08006')],
    ['too many connections', withCode('53300')],
    ['node-postgres lost connection', new Error('Connection terminated unexpectedly')],
    ['database closed to connections', withCode('55000', 'database "x" is not currently accepting connections')],
    ['wrapped by Drizzle', new Error('Failed query', { cause: withCode('57P01') })],
    ['in an AggregateError', new AggregateError([new Error('other'), withCode('ECONNRESET')])],
  ])('%s: yes', (_name, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    ['unique violation', withCode('23505')],
    ['syntax error', withCode('42601')],
    ['statement timeout', withCode('57014')],
    ['55000 of another kind', withCode('55000', 'object not in prerequisite state')],
    ['a plain error', new Error('boom')],
    ['not an error', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('%s: no', (_name, error) => {
    expect(isConnectionError(error)).toBe(false);
  });

  it('pgErrorCode still finds the SQLSTATE through causes', () => {
    expect(pgErrorCode(new Error('Failed query', { cause: withCode('23505') }))).toBe('23505');
    expect(pgErrorCode(withCode('ECONNREFUSED'))).toBeUndefined();
  });
});
