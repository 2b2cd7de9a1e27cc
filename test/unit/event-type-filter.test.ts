// The endpoint event-type filter (shared/event-type-filter.ts): matching and entry syntax.
import { describe, expect, it } from 'vitest';
import { matchesEventTypeFilter, parseEventTypeFilterEntry } from '../../shared/event-type-filter.js';

describe('matchesEventTypeFilter', () => {
  const cases: Array<[readonly string[], string, boolean]> = [
    [[], 'job.completed', true],
    [[], 'anything', true],
    [['job.completed'], 'job.completed', true],
    [['job.completed'], 'job.completed.v2', false],
    [['job.completed'], 'job', false],
    [['job.completed', 'generation.failed'], 'generation.failed', true],
    [['file.*'], 'file.upload.completed', true],
    [['file.*'], 'file.deleted', true],
    [['file.*'], 'file', false],
    [['file.*'], 'files.upload', false],
    [['file.*'], 'profile.updated', false],
    [['file.upload.*'], 'file.upload.completed', true],
    [['file.upload.*'], 'file.download.completed', false],
    [['video.*', 'job.completed'], 'job.completed', true],
    [['video.*', 'job.completed'], 'video.ready', true],
    [['video.*', 'job.completed'], 'job.failed', false],
    [['generated_video_success'], 'generated_video_success', true],
    [['generated_video_success'], 'generated_video', false],
    [['tool_execution.*'], 'tool_execution.succeeded', true],
  ];
  for (const [filters, type, expected] of cases) {
    it(`${JSON.stringify(filters)} ${expected ? 'matches' : 'does not match'} ${type}`, () => {
      expect(matchesEventTypeFilter(filters, type)).toBe(expected);
    });
  }

  it('agrees with the SQL mirror: starts_with(type, left(filter, -1)) for x.* entries', () => {
    const filter = 'file.*';
    const leftMinusOne = filter.slice(0, filter.length - 1);
    for (const type of ['file.a', 'file.', 'file', 'filex.a']) {
      expect(matchesEventTypeFilter([filter], type)).toBe(type.startsWith(leftMinusOne));
    }
  });
});

describe('parseEventTypeFilterEntry', () => {
  it('reads exact names and wildcards', () => {
    expect(parseEventTypeFilterEntry('job.completed')).toEqual({ kind: 'exact', name: 'job.completed' });
    expect(parseEventTypeFilterEntry('file.*')).toEqual({ kind: 'prefix', prefix: 'file.' });
    expect(parseEventTypeFilterEntry('file.upload.*')).toEqual({ kind: 'prefix', prefix: 'file.upload.' });
    expect(parseEventTypeFilterEntry('a'.repeat(100))).toEqual({ kind: 'exact', name: 'a'.repeat(100) });
  });

  for (const entry of ['', '*', '.*', 'file*', 'file.**', '*.completed', 'file.*.x', 'File.*', 'file..*', 'a b', 'a'.repeat(101)]) {
    it(`rejects ${JSON.stringify(entry.length > 20 ? `${entry.slice(0, 10)}…(${entry.length})` : entry)}`, () => {
      const parsed = parseEventTypeFilterEntry(entry);
      expect('error' in parsed && parsed.error.length > 0).toBe(true);
    });
  }
});
