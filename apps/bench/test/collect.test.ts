import { flatten, lastJsonLine, renderTable } from '../src/collect';

describe('bench summary collection', () => {
  test('takes the last line that is a JSON object, skipping trailing noise', () => {
    const out = 'figures...\n{"a":1}\nmore text\n{"suite":"x","ops":5}\n\n NX done\n';
    expect(lastJsonLine(out)).toEqual({ suite: 'x', ops: 5 });
    expect(lastJsonLine('no json here\n[1,2]\n{broken')).toBeUndefined();
  });

  test('flattens nested figures and renders one row per figure', () => {
    expect(flatten({ a: 1234, b: { c: 'x', d: { e: 2 } } })).toEqual([
      ['a', '1,234'],
      ['b.c', 'x'],
      ['b.d.e', '2'],
    ]);
    const table = renderTable([{ project: 'crypto', summary: { verify: 12000 } }, { project: 'broken', error: 'exited with code 1' }]);
    expect(table).toContain('crypto');
    expect(table).toContain('12,000');
    expect(table).toContain('exited with code 1');
  });
});
