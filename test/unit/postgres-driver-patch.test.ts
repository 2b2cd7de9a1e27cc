// The installed postgres driver is hookline's copy (db/vendor/README.md): a deferred write after the
// socket closed fails the queries instead of throwing from a timer and leaving them waiting for ever.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('the postgres driver', () => {
  it('is installed from db/vendor, as the lockfile says', () => {
    const lock = JSON.parse(read('package-lock.json'));
    expect(lock.packages['node_modules/postgres'].resolved).toBe('file:db/vendor/postgres-3.4.9-hookline.1.tgz');
    expect(JSON.parse(read('package.json')).bundleDependencies).toContain('postgres');
  });

  it.each(['src', 'cjs/src', 'cf/src'])('guards nextWrite against a closed socket in %s', (dir) => {
    const source = read(`node_modules/postgres/${dir}/connection.js`);
    const nextWrite = source.slice(source.indexOf('function nextWrite'), source.indexOf('function connectTimedOut'));
    expect(nextWrite).toMatch(/if \(socket === null\) \{[^}]*error\(Errors\.connection\('CONNECTION_CLOSED'/);
  });
});
