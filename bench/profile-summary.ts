// Summarizes a V8 CPU profile: top functions by self time, and self time by package or source
// directory. For the tuning loop described in docs/BENCHMARKS.md:
//   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/run.ts throughput
//   npx tsx bench/profile-summary.ts /tmp/prof/<largest>.cpuprofile [top=30]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
const selfTime = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  total += delta;
  selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
});

const shortUrl = (url: string) => url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(server|shared|db|bench)\//, '$1/');
const group = (url: string) => {
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url === '') return '(native, GC, idle)';
  return shortUrl(url).split('/').slice(0, 2).join('/');
};

const byFunction = new Map<string, number>();
const byGroup = new Map<string, number>();
for (const [id, time] of selfTime) {
  const frame = frames.get(id)!;
  const key = `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + time);
  byGroup.set(group(frame.url), (byGroup.get(group(frame.url)) ?? 0) + time);
}

const print = (title: string, entries: Map<string, number>, limit: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, time] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(`${(time / 1000).toFixed(0).padStart(8)} ms ${((100 * time) / total).toFixed(1).padStart(5)}%  ${key}\n`);
  }
};
process.stdout.write(`profile ${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
print('self time by function', byFunction, top);
print('self time by package / directory', byGroup, 20);
