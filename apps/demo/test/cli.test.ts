import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { main, type Io } from '../src/cli';

function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, stdout: () => out, stderr: () => err };
}

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'bftx-demo-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('bad options: a clear message, exit code 2, no stack trace, nothing written', () => {
  test.each([
    [['--nodes', 'x'], /--nodes <n>' argument 'x' is invalid\. expected a whole number from 1 to 64/],
    [['--protocol', 'raft'], /expected one of streamlet, hotstuff, pbft/],
    [['--byzantine', 'teleport'], /unknown strategy "teleport"/],
    [['--byzantine', 'crash=soon'], /at most one whole number of ms/],
    [['byzantine', '-n', '4', '-b', 'silent,silent'], /at most f = 1 \(f < n\/3\)\. .*or `npm run demo -- byzantine -n 4 --byzantine 2` to watch 2 colluding replicas try a split brain beyond f/],
    [['exchange', '-n', '5', '--byzantine', '2'], /`npm run demo -- byzantine -n 5 --byzantine 2`/],
    [['byzantine', '-n', '4', '--byzantine', '3'], /3 colluding replicas of 4: a split brain needs two honest replicas to split \(at most 2\)/],
    // Offered only where honoured: basic and compare run honest replicas only, compare every protocol at --sizes.
    [['basic', '--byzantine', 'silent'], /unknown option '--byzantine'/],
    [['compare', '-b', 'silent'], /unknown option '-b'/],
    [['compare', '-p', 'pbft'], /unknown option '-p'/],
    [['compare', '--nodes', '7'], /unknown option '--nodes'/],
    [['market', '--byzantine', 'silent'], /a direct market has no replicas/],
    [['compare', '--sizes', '4,4'], /each replica count once/],
    [['--seed', '-1'], /expected a whole number from 0 to 4294967295/],
    [['--views', '0'], /from 1 to 1000000/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['teleport'], /unknown command 'teleport'/],
    [['market', '--venue', 'moon'], /Allowed choices are direct, replicated/],
    [['basic', '--window', '400-200'], /expected FROM-TO in virtual ms, FROM < TO/],
  ])('%j', async (argv, message) => {
    const out = tmp();
    const io = capture();
    expect(await main([...argv, '--out', join(out, 'o')], io)).toBe(2);
    expect(io.stderr()).toMatch(message);
    expect(io.stderr()).not.toMatch(/\n\s+at /); // no stack
    expect(existsSync(join(out, 'o', 'report.html'))).toBe(false);
  });

  test('the real process exits with 2', () => {
    const r = spawnSync(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', join(__dirname, '../src/main.ts'), '--nodes', 'many'], { encoding: 'utf8', cwd: join(__dirname, '..') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/argument 'many' is invalid/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  test('an output folder that cannot be made: exit 1 before the run, with the reason', async () => {
    const io = capture();
    expect(await main(['basic', '--out', '/etc/passwd/x'], io)).toBe(1);
    expect(io.stderr()).toMatch(/cannot create the output folder .*ENOTDIR/);
    expect(io.stdout()).toBe('');
  });
});

test('--help shows each command only the options it honours', async () => {
  const help = async (command: string) => {
    const io = capture();
    expect(await main([command, '--help'], io)).toBe(0);
    return io.stdout();
  };
  expect(await help('compare')).not.toMatch(/--protocol|--nodes|--byzantine/);
  expect(await help('basic')).not.toMatch(/--byzantine/);
  expect(await help('basic')).toMatch(/--protocol/);
  expect(await help('byzantine')).toMatch(/--byzantine/);
});

test('--help lists every command and exits 0', async () => {
  const io = capture();
  expect(await main(['--help'], io)).toBe(0);
  for (const c of ['exchange', 'basic', 'byzantine', 'compare', 'market', 'fairness']) expect(io.stdout()).toContain(c);
});

describe('runs', () => {
  test('basic -n 1 -p hotstuff runs (it overflowed the stack) and finalizes the transactions', async () => {
    const out = tmp();
    const io = capture();
    expect(await main(['basic', '-n', '1', '-p', 'hotstuff', '--out', out], io)).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { replicas: Array<{ transactions: number }> };
    expect(summary.replicas[0]!.transactions).toBeGreaterThan(900);
  }, 60_000);

  test('market --venue replicated --delta 10 runs with delta 10 (it ran with 100), and without --delta with 100', async () => {
    const run = async (extra: string[]) => {
      const out = tmp();
      expect(await main(['market', '--venue', 'replicated', '--minutes', '1', '--scale', '0.1', ...extra, '--out', out], capture())).toBe(0);
      return (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { delta_ms: number }).delta_ms;
    };
    expect(await run(['--delta', '10'])).toBe(10);
    expect(await run([])).toBe(100);
  }, 120_000);

  test('exchange (the default): summary table, report, trace and summary; forged orders rejected, the double-voter convicted', async () => {
    const out = tmp();
    const io = capture();
    expect(await main(['--views', '300', '--signatures', 'simulated', '--out', out], io)).toBe(0);
    const text = io.stdout();
    expect(text).toContain('Distributed exchange: streamlet, 5 replicas, r4: vote-twice');
    expect(text).toMatch(/rejected at the mempool \(bad signature\)\s*│\s*20/);
    expect(text).toMatch(/offenders \(with evidence\)\s*│\s*r4 \(equivocation\)/);
    expect(text).toContain(join(out, 'report.html'));
    expect(text).toContain('Next: `npm run demo -- fairness`'); // the default run points at the fairness scenario
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.scenario).toBe('exchange');
    expect(summary.state_roots_agree).toBe(true);
    expect(summary.orders.rejectedAtMempool.BAD_SIGNATURE).toBe(20);
    expect(summary.orders.executed + Object.values(summary.orders.rejectedAtExecution as Record<string, number>).reduce((a, b) => a + b, 0) + summary.orders.pendingAtClose).toBe(summary.orders.admitted);
    expect(summary.offenders).toEqual([{ validator: 4, evidence: 'equivocation' }]);
    // The report shows the evidence itself: the two statements r4 signed for one slot (it showed none).
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const evidence = html.slice(html.indexOf('<h2>Evidence</h2>'));
    expect(evidence).toMatch(/<td>r4<\/td><td>equivocation<\/td><td>first<\/td>/);
    expect(evidence).toMatch(/<td>r4<\/td><td>equivocation<\/td><td>second<\/td>/);
    // The summary table fits 80 columns (it was 120), and so does every other line here.
    for (const l of text.split('\n')) expect([...l].length).toBeLessThanOrEqual(80);
    // The trace is gzipped by default (the default run's was 23 MB as text).
    expect(existsSync(join(out, 'trace.jsonl'))).toBe(false);
    const lines = gunzipSync(readFileSync(join(out, 'trace.jsonl.gz'))).toString('utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(1000);
    const records = lines.map((l) => JSON.parse(l));
    expect(summary.finalized_height).toBeGreaterThan(100);
    expect(records.filter((r) => r.ev === 'finalize' && r.instance === 0).length).toBeGreaterThanOrEqual(summary.finalized_height);
    expect(records.some((r) => r.ev === 'deliver')).toBe(false); // sends carry their arrival time
    const svgs = readdirSync(join(out, 'charts'));
    expect(svgs.sort()).toEqual(['exchange-block-tree', 'exchange-candles', 'exchange-compare', 'exchange-depth', 'exchange-latency', 'exchange-message-sequence', 'exchange-pnl', 'exchange-throughput', 'exchange-view-timeline'].map((x) => `${x}.svg`));
  }, 120_000);

  test('the same seed gives the same summary and trace', async () => {
    const [a, b] = [tmp(), tmp()];
    for (const out of [a, b]) expect(await main(['byzantine', '-p', 'hotstuff', '-n', '4', '-e', '40', '--out', out], capture())).toBe(0);
    const strip = (s: string) => s.replace(/"wall_ms": \d+/g, '');
    expect(strip(readFileSync(join(a, 'summary.json'), 'utf8'))).toBe(strip(readFileSync(join(b, 'summary.json'), 'utf8')));
    expect(readFileSync(join(a, 'trace.jsonl.gz'))).toEqual(readFileSync(join(b, 'trace.jsonl.gz')));
  }, 60_000);

  test('--trace jsonl writes the plain trace (the gzipped one decompressed, byte for byte), --trace none none; a run leaves no output of an earlier one', async () => {
    const [gz, plain] = [tmp(), tmp()];
    const args = ['basic', '-p', 'hotstuff', '-n', '4', '-e', '30'];
    expect(await main([...args, '--out', gz], capture())).toBe(0);
    expect(await main([...args, '--trace', 'jsonl', '--out', plain], capture())).toBe(0);
    expect(readFileSync(join(plain, 'trace.jsonl'))).toEqual(gunzipSync(readFileSync(join(gz, 'trace.jsonl.gz'))));
    // Into the same folder: the earlier run's trace and a chart this run does not draw are gone.
    writeFileSync(join(plain, 'charts', 'left-from-an-earlier-run.svg'), '<svg/>');
    expect(await main([...args, '--trace', 'none', '--out', plain], capture())).toBe(0);
    expect(existsSync(join(plain, 'trace.jsonl'))).toBe(false);
    expect(existsSync(join(plain, 'trace.jsonl.gz'))).toBe(false);
    expect(readdirSync(join(plain, 'charts'))).not.toContain('left-from-an-earlier-run.svg');
    expect(existsSync(join(plain, 'report.html'))).toBe(true);
  }, 60_000);

  test.each(['hotstuff', 'pbft', 'streamlet'])('beyond f (%s): --byzantine 2 -n 4 forks, and the report convicts both colluders with a proof that verifies; -n 5 cannot fork with 2, and says what would', async (protocol) => {
    const out = tmp();
    const io = capture();
    expect(await main(['byzantine', '-p', protocol, '-n', '4', '--byzantine', '2', '-e', '40', '--out', out], io)).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ attack: 'split-brain', n: 4, f: 1, quorum: 3, coalition: [2, 3], fork_needs: 2, forked: true, convicted: [2, 3], proof_verifies: true, transcripts_used: [0, 1] });
    expect(summary.fork.blocks[0]).not.toBe(summary.fork.blocks[1]);
    expect(io.stdout()).toMatch(/FORK, as the bound predicts/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Forensics: who broke safety');
    // Both branches in one chart (in the block trees they overlap: both sides run the same views and heights).
    expect(readdirSync(join(out, 'charts'))).toContain('split-brain-fork.svg');
    expect(readFileSync(join(out, 'charts', 'split-brain-fork.svg'), 'utf8')).toContain('Convicted from their own signatures: r2, r3.');
    const safe = tmp();
    const five = capture();
    expect(await main(['byzantine', '-p', protocol, '-n', '5', '--byzantine', '2', '-e', '40', '--out', safe], five)).toBe(0);
    expect(JSON.parse(readFileSync(join(safe, 'summary.json'), 'utf8'))).toMatchObject({ forked: false, fork_needs: 3, fork: null, proof_verifies: false });
    expect(five.stdout()).toMatch(/safe: no two honest replicas/);
    expect(readdirSync(join(safe, 'charts'))).not.toContain('split-brain-fork.svg');
    // Word-wrapped to 80 columns: any whitespace between words.
    expect(five.stdout()).toMatch(new RegExp(`byzantine -p ${protocol} -n 5 --byzantine 3\`: 3 colluding replicas are enough to fork 5`.replace(/ /g, '\\s+')));
  }, 120_000);

  test.each([
    [['basic', '-p', 'pbft', '-n', '4', '-e', '40', '--window', '100-300'], 'basic'],
    [['byzantine', '-p', 'hotstuff', '-n', '7', '-e', '60', '-b', 'equivocate,silent'], 'byzantine'],
    [['compare', '--sizes', '4,7', '-e', '30'], 'compare'],
    [['market', '--minutes', '30', '--scale', '0.1'], 'market'],
    [['market', '--venue', 'replicated', '--minutes', '1', '--scale', '0.1'], 'market'],
  ])('%j', async (argv, scenario) => {
    const out = tmp();
    const io = capture();
    expect(await main([...argv, '--out', out], io)).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.scenario).toBe(scenario);
    if ('verdict' in summary) expect(summary.verdict).toBe('safe');
    if (scenario === 'byzantine') {
      expect(summary.offenders).toEqual([6]); // the equivocator, proven
      expect(summary.undetected).toEqual([expect.stringMatching(/^r5 \(silent\): leaves no signed proof/)]);
    }
    if (scenario === 'compare') expect(summary.runs).toHaveLength(6);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('window.bftxReport');
    if (argv.includes('--window')) expect(html).toContain('View timeline (pbft, 100-300 ms)');
  }, 120_000);
});
