// A fresh `npm install` must leave the committed lockfile as it is and ask the user about no install
// script: npm 11 runs a dependency's install script only when package.json's allowScripts names it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));

describe('npm install from a fresh clone', () => {
  it("records package.json's bin in the lockfile exactly as npm normalizes it", () => {
    const normalized = Object.fromEntries(
      Object.entries(manifest.bin as Record<string, string>).map(([name, path]) => [name, path.replace(/^\.\//, '')]),
    );
    expect(lock.packages[''].bin).toEqual(normalized);
  });

  it('covers every locked package with an install script in allowScripts', () => {
    const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.replace(/.*node_modules\//, ''));
    expect(withScripts.length).toBeGreaterThan(0);
    const allowed = Object.keys(manifest.allowScripts ?? {});
    expect(withScripts.filter((name) => !allowed.includes(name))).toEqual([]);
  });
});
