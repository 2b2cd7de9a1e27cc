// Headless Chromium for browser tests, from the @sparticuz/chromium package: nothing is downloaded
// and no system browser is needed. The package ships the few shared libraries Chromium needs beyond
// a base Linux (NSS, NSPR, expat) for Amazon Linux only; they are unpacked here too and put on the
// browser's library path, so a fresh machine without them runs it as well.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

// No background networking of any kind: the browser talks only to the pages it is sent to.
const QUIET_ARGS = [
  '--headless=shell',
  '--no-sandbox',
  '--no-zygote',
  '--disable-setuid-sandbox',
  '--disable-gpu',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--no-pings',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--dns-prefetch-disable',
  '--font-render-hinting=none',
];

/** The package's bundled shared libraries, unpacked once per machine; their directory. */
function bundledLibraries(): string {
  const packageDir = dirname(dirname(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium'))));
  const target = join(tmpdir(), 'hookline-chromium-libs');
  if (!existsSync(join(target, 'lib', 'libnss3.so'))) {
    // Unpacked beside, then renamed into place: a concurrent test process never sees half of it.
    const staging = `${target}-${process.pid}`;
    mkdirSync(staging, { recursive: true });
    const archive = join(staging, 'al2023.tar');
    writeFileSync(archive, brotliDecompressSync(readFileSync(join(packageDir, 'bin', 'al2023.tar.br'))));
    const untar = spawnSync('tar', ['-xf', archive, '-C', staging]);
    if (untar.status !== 0) throw new Error(`could not unpack Chromium's libraries: ${untar.stderr.toString()}`);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process was first
    }
  }
  return join(target, 'lib');
}

export async function launchBrowser(): Promise<Browser> {
  const libraries = bundledLibraries();
  const libraryPath = [libraries, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    headless: 'shell',
    args: QUIET_ARGS,
    env: { ...process.env, LD_LIBRARY_PATH: libraryPath },
  });
}
