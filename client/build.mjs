// Builds @hookline/client into dist/: the JavaScript twice (ESM in dist/esm, CommonJS in dist/cjs,
// each bundled with the shared signing code it uses, @trpc/* left as dependencies) and the
// declarations once, copied beside both. Run by `npm run build` and by prepack.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const external = Object.keys(manifest.dependencies ?? {}).flatMap((name) => [name, `${name}/*`]);
const dist = join(here, 'dist');
const types = join(here, 'build', 'types');

rmSync(dist, { recursive: true, force: true });
rmSync(types, { recursive: true, force: true });

const FORMATS = [
  { format: 'esm', dir: 'esm', type: 'module' },
  { format: 'cjs', dir: 'cjs', type: 'commonjs' },
];
for (const { format, dir } of FORMATS) {
  await build({
    entryPoints: [join(here, 'index.ts')],
    outfile: join(dist, dir, 'index.js'),
    bundle: true,
    format,
    platform: 'node',
    target: 'node20',
    external,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

// Declarations: tsc emits them for everything the client's types reach; only client/*.d.ts are kept.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
const declarations = readdirSync(join(types, 'client')).filter((name) => name.endsWith('.d.ts'));

// Self-contained: a declaration may name the package's own files and its dependencies, nothing else
// (a server module or drizzle here would break every app that checks its libraries).
const allowed = (specifier) =>
  /^\.\/[\w-]+\.js$/.test(specifier) || external.some((name) => specifier === name || specifier.startsWith(`${name}/`));
for (const name of declarations) {
  const text = readFileSync(join(types, 'client', name), 'utf8');
  for (const match of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const specifier = match[1] ?? match[2];
    if (!allowed(specifier)) throw new Error(`client/${name} declares a type from "${specifier}", outside the package`);
  }
}

for (const { dir, type } of FORMATS) {
  for (const name of declarations) cpSync(join(types, 'client', name), join(dist, dir, name));
  // Node and TypeScript read each directory's module kind from its nearest package.json.
  writeFileSync(join(dist, dir, 'package.json'), `${JSON.stringify({ type }, null, 2)}\n`);
}
rmSync(join(here, 'build'), { recursive: true, force: true });
