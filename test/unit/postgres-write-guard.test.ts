// The guard recognises exactly postgres.js's deferred write to a closed socket, nothing else.
import { expect, it } from 'vitest';
import { isPostgresClosedSocketWrite } from '../../server/postgres-write-guard.js';

it('recognises the driver crash and only it', () => {
  const crash = new TypeError("Cannot read properties of null (reading 'write')");
  crash.stack = `${crash.message}\n    at Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:22)`;
  expect(isPostgresClosedSocketWrite(crash)).toBe(true);
  const elsewhere = new TypeError("Cannot read properties of null (reading 'write')");
  elsewhere.stack = `${elsewhere.message}\n    at write (file:///app/server/http/server.ts:10:3)`;
  expect(isPostgresClosedSocketWrite(elsewhere)).toBe(false);
  expect(isPostgresClosedSocketWrite(new Error('boom'))).toBe(false);
});
