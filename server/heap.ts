// V8 heap growth for the long-running processes. V8 sizes a heap from the machine's memory and,
// on a roomy host, lets garbage pile up to several times the live heap before collecting: a worker
// with ~40 MB live reached 280 MB of RSS. Growing the heap by at most half its live size after each
// full collection keeps it near what it uses (about 1 % more CPU in collections), and it is a growth
// rule, not a limit: a heap that needs more still gets it. An operator who sets the heap through
// Node's own flags (NODE_OPTIONS or the command line) keeps exactly those.
import v8 from 'node:v8';

const HEAP_FLAGS = /--(max-old-space-size|max-heap-size|heap-growing-percent|max-semi-space-size)\b/;

/** The V8 flag to set, or undefined when the process was started with heap flags of its own. */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  // Node and V8 accept both spellings: --max-old-space-size and --max_old_space_size.
  if (HEAP_FLAGS.test([...execArgv, nodeOptions ?? ''].join(' ').replaceAll('_', '-'))) return undefined;
  return '--heap-growing-percent=50';
}

export function limitHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS);
  // V8 reads it at every full collection, so it takes effect from the next one on.
  if (flag) v8.setFlagsFromString(flag);
}
