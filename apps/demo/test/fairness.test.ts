// `bftx-demo fairness` with a tiny matrix: one attack (the sandwich), leader order and both defences, one seed.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main, type Io } from '../src/cli';
import { blockOrders, meanInterval, sandwichWindow } from '../src/fairness';

function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, stdout: () => out, stderr: () => err };
}

const out = mkdtempSync(join(tmpdir(), 'bftx-demo-fairness-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('fairness: the summary table, the report with the value chart and the sandwich block by block, summary.json', async () => {
  const io = capture();
  expect(await main(['fairness', '--seeds', '1', '--seconds', '3', '--attacks', 'sandwich', '--defences', 'leader,both', '--out', out], io)).toBe(0);
  const text = io.stdout();
  expect(text).toContain('Fair ordering: 1 attack(s) x 2 defence(s), hotstuff, 1 seed(s)');
  expect(text).toMatch(/sandwich x leader\s*│\s*value -?[\d.]+ \[/);
  expect(text).toMatch(/sandwich x both\s*│\s*value -?[\d.]+ \[/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.scenario).toBe('fairness');
  expect(summary.seeds).toEqual([1]);
  expect(summary.cells.map((c: { attack: string; defence: string }) => `${c.attack} ${c.defence}`)).toEqual(['sandwich leader', 'sandwich both']);
  for (const c of summary.cells) {
    // One seed: the interval is the point itself.
    expect(c.ev.lo).toBe(c.ev.mean);
    expect(c.ev.hi).toBe(c.ev.mean);
    expect(c.evPerSeed).toHaveLength(1);
  }
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  expect(html).toContain('id="fairness-ev"');
  expect(html).toContain('One sandwich, block by block');
  expect(html).toContain('leader order (today): height');
  expect(html).toContain('ordering + batch: height');
  expect(existsSync(join(out, 'charts', 'fairness-ev.svg'))).toBe(true);
  const trace = gunzipSync(readFileSync(join(out, 'trace.jsonl.gz'))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(new Set(trace.map((r) => r.defence))).toEqual(new Set(['leader', 'both']));
}, 120_000);

test('bad fairness options: exit 2 with the reason', async () => {
  const io = capture();
  expect(await main(['fairness', '--attacks', 'teleport', '--out', join(out, 'x')], io)).toBe(2);
  expect(io.stderr()).toMatch(/unknown attack "teleport"/);
});

test('meanInterval: seeded, holds the mean, a point for one value', () => {
  const xs = [3, -1, 4, 1, -5, 9, 2, 6];
  expect(meanInterval(xs, 7)).toEqual(meanInterval(xs, 7));
  const m = meanInterval(xs, 7);
  expect(m.mean).toBe(19 / 8);
  expect(m.lo).toBeLessThan(m.mean);
  expect(m.hi).toBeGreaterThan(m.mean);
  expect(meanInterval([5], 1)).toEqual({ mean: 5, lo: 5, hi: 5 });
});

test('the traced sandwich: the first attacked victim order with its neighbours; others\' orders counted', () => {
  const block = (height: number, orders: string[]) => ({ height, proposer: 3, byzantineProposer: true, orders, prices: [], clearingPrice: undefined });
  const blocks = [block(1, ['victim sell 60 @ 992 GTC']), block(2, ['victim cancel #1']), block(3, ['attacker buy 60 @ 1002 IOC', 'other sell 5 @ 1001 GTC', 'other buy 2 market IOC', 'victim buy 60 @ 1003 GTC', 'attacker sell 60 @ 1003 IOC']), block(4, ['victim cancel #2']), block(5, ['victim buy 60 @ 1006 GTC']), block(6, ['victim cancel #3'])];
  expect(sandwichWindow(blocks).map((b) => b.height)).toEqual([2, 3, 4, 5]);
  expect(sandwichWindow(blocks.slice(0, 2)).map((b) => b.height)).toEqual([1, 2]); // nothing attacked: the first blocks
  expect(blockOrders(blocks[2]!.orders)).toBe('attacker buy 60 @ 1002 IOC → (2 others) → victim buy 60 @ 1003 GTC → attacker sell 60 @ 1003 IOC');
  expect(blockOrders(['other a', 'victim b', 'other c'])).toBe('(1 other) → victim b → (1 other)');
});
