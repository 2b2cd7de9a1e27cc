// Figures, goals and their verdicts; the tables printed to the terminal and the JSON written to
// bench/results/<scenario>-<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.js';

export interface Goal {
  op: '>=' | '<=' | '<';
  target: number;
}

/** One measured number. A figure with a goal gets PASS or MISS; one without is information. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  goal?: Goal;
  /** Shown beside the goal, e.g. what the goal is relative to. */
  goalText?: string;
  note?: string;
}

export type Verdict = 'PASS' | 'MISS' | '';

export interface ScenarioResult {
  scenario: string;
  title: string;
  /** Conditions printed above the table (sizes, layout, settings). */
  context: string[];
  figures: Figure[];
  /** Everything else worth keeping in the JSON (raw summaries, counts, timings). */
  details: Record<string, unknown>;
}

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function verdict(figure: Figure): Verdict {
  if (!figure.goal) return '';
  const { op, target } = figure.goal;
  if (!Number.isFinite(figure.value)) return 'MISS';
  const met = op === '>=' ? figure.value >= target : op === '<=' ? figure.value <= target : figure.value < target;
  return met ? 'PASS' : 'MISS';
}

export function formatValue(value: number, unit: string): string {
  if (Number.isNaN(value)) return 'n/a';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  const rounded = round(value);
  const text = Math.abs(rounded) >= 1000 ? rounded.toLocaleString('en-US') : String(rounded);
  return unit === '×' ? `${text}×` : unit ? `${text} ${unit}` : text;
}

export function formatGoal(figure: Figure): string {
  if (!figure.goal) return figure.goalText ?? '–';
  const symbol = { '>=': '≥', '<=': '≤', '<': '<' }[figure.goal.op];
  const text = `${symbol} ${formatValue(figure.goal.target, figure.unit)}`;
  return figure.goalText ? `${text} ${figure.goalText}` : text;
}

function pad(text: string, width: number, right = false): string {
  const length = [...text].length;
  return right ? ' '.repeat(Math.max(0, width - length)) + text : text + ' '.repeat(Math.max(0, width - length));
}

/** A plain-text table: figure | value | goal | verdict (| note). */
export function renderTable(result: ScenarioResult): string {
  const rows = result.figures.map((f) => [f.name, formatValue(f.value, f.unit), formatGoal(f), verdict(f), f.note ?? '']);
  const header = ['figure', 'value', 'goal', 'result', 'note'];
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...r[i]!].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!, i === 1))
      .join('  ')
      .trimEnd();
  const out = [`\n=== ${result.scenario}: ${result.title} ===`, ...result.context.map((c) => `  ${c}`), ''];
  out.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) out.push(line(row));
  return `${out.join('\n')}\n`;
}

/** The figures of several scenarios as one Markdown table (what docs/BENCHMARKS.md shows). */
export function renderMarkdown(results: readonly ScenarioResult[]): string {
  const out = ['| scenario | figure | value | goal | result |', '|---|---|---:|---|---|'];
  for (const result of results) {
    for (const f of result.figures) {
      const cells = [result.scenario, f.name, formatValue(f.value, f.unit), formatGoal(f), verdict(f) || 'info'];
      out.push(`| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Writes bench/results/<scenario>-<timestamp>.json; returns the path relative to the cwd. */
export function writeResult(result: ScenarioResult, meta: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const path = join(resultsDir, `${result.scenario}-${stamp}.json`);
  const figures = result.figures.map((f) => ({ ...f, value: round(f.value), verdict: verdict(f) || null }));
  writeFileSync(path, `${JSON.stringify({ ...meta, ...result, figures }, jsonReplacer, 2)}\n`);
  return relative(process.cwd(), path);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
