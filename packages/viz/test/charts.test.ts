import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { simulate, synchronous, type SimulationResult } from '@bftx/sim';
import { streamlet } from '@bftx/streamlet';
import {
  blockTreeChart,
  candlesChart,
  comparisonChart,
  comparisonRowsFromBench,
  depthChart,
  forkChart,
  viewTimelineChart,
  htmlReport,
  latencyChart,
  messageSequenceChart,
  pnlChart,
  readTrace,
  renderSvg,
  statusAt,
  throughputChart,
  VizInputError,
  type ConsensusRun,
  type EChartsOption,
} from '../src/index';

const protocols = { streamlet: streamlet(), hotstuff: hotstuff(), pbft: pbft() } as const;

function run(name: keyof typeof protocols, byzantine: number[] = []): { result: SimulationResult; run: ConsensusRun } {
  const result = simulate({
    protocol: protocols[name] as never,
    n: 4,
    seed: 3,
    network: synchronous(10),
    timing: { delta: 10 },
    duration: 1_000,
    transactions: { every: 10, perBatch: 2 },
    byzantine: byzantine.map((replica) => ({ replica, strategy: { kind: 'equivocate' as const } })),
  });
  return { result, run: { protocol: name, n: 4, byzantine, trace: result.trace } };
}

const series = (o: EChartsOption) => (Array.isArray(o.series) ? o.series : [o.series]) as any[];

describe('readTrace', () => {
  test.each(['streamlet', 'hotstuff', 'pbft'] as const)('%s: every ledger block is a known proposal, finalized in the replica view', (name) => {
    const { result, run: r } = run(name, [3]);
    const facts = readTrace(r);
    for (const rep of result.replicas.filter((x) => x.honest)) {
      const view = facts.replicas[rep.validator]!;
      expect(view.finalizedHeight).toBe(rep.finalized);
      expect(view.commits).toHaveLength(rep.finalized);
      expect(view.commits.reduce((a, c) => a + c.txs, 0)).toBe(rep.transactions);
      // Each finalized id maps to a proposal the trace saw (PBFT's batches map back to their proposal).
      for (const id of view.finalized) expect(facts.blocks.has(id)).toBe(true);
      const finalizedBlocks = [...facts.blocks.values()].filter((b) => statusAt(view, b) === 'finalized');
      expect(finalizedBlocks).toHaveLength(rep.finalized);
    }
    expect(facts.replicas[3]!.byzantine).toBe(true);
  });

  test('status: orphaned once a replica finalized past the height without the block', () => {
    const trace = [
      { t: 0, ev: 'propose', replica: 0, view: 1, block: 'a', height: 1, parent: 'g' },
      { t: 0, ev: 'propose', replica: 1, view: 2, block: 'b', height: 1, parent: 'g' },
      { t: 1, ev: 'propose', replica: 2, view: 3, block: 'c', height: 2, parent: 'a' },
      { t: 2, ev: 'certify', replica: 0, view: 3, block: 'c', height: 2 },
      { t: 3, ev: 'finalize', replica: 0, instance: 0, block: 'a', height: 1, txs: 4 },
      { t: 3, ev: 'bogus', replica: 0 },
      { t: 3, ev: 'vote', replica: 99, block: 'a' },
    ];
    const facts = readTrace({ protocol: 'x', n: 2, byzantine: [], trace });
    const view = facts.replicas[0]!;
    expect(statusAt(view, facts.blocks.get('a')!)).toBe('finalized');
    expect(statusAt(view, facts.blocks.get('b')!)).toBe('orphaned');
    expect(statusAt(view, facts.blocks.get('c')!)).toBe('certified');
    expect(statusAt(facts.replicas[1]!, facts.blocks.get('a')!)).toBe('proposed');
  });
});

describe('consensus charts', () => {
  const { result, run: r } = run('streamlet', [3]);

  test('the block tree has one panel per replica, marks the Byzantine one, and colours each block from that replica', () => {
    const o = blockTreeChart(r, { views: { from: 1, to: 12 } });
    const s = series(o);
    expect(s).toHaveLength(4);
    expect(s[3].name).toBe('r3 (Byzantine)');
    for (const panel of s) for (const node of panel.data) expect(node.value[0]).toBeGreaterThanOrEqual(1);
    // r0's panel: the blocks it finalized are exactly the "finalized" category (index 0).
    const facts = readTrace(r);
    const finalizedHere = s[0].data.filter((d: any) => d.category === 0).map((d: any) => d.name);
    expect(new Set(finalizedHere)).toEqual(new Set([...facts.replicas[0]!.finalized].filter((id) => { const b = facts.blocks.get(id)!; return b.view >= 1 && b.view <= 12; })));
    // Blocks of the Byzantine proposer are diamonds.
    for (const d of s[0].data) expect(d.symbol).toBe(facts.blocks.get(d.name)!.proposer === 3 ? 'diamond' : 'circle');
    expect(renderSvg(o, { width: 900, height: 700 })).toContain('r3 (Byzantine)');
  });

  test('the view timeline marks each kind of event and labels views with their leaders', () => {
    const o = viewTimelineChart(r, { window: { from: 0, to: 200 } });
    const names = series(o).map((x) => x.name);
    expect(names).toEqual(['propose', 'vote', 'certify', 'finalize']);
    for (const x of series(o)) expect(x.data.length).toBeGreaterThan(0);
    const bands = series(o)[0].markArea.data;
    expect(bands.length).toBeGreaterThan(3);
    expect(bands[1][0].name).toMatch(/^e\d+ L\d$/);
  });

  test('the message sequence draws every message sent in the window, up to the cap', () => {
    const window = { from: 0, to: 100 };
    const sent = result.trace.filter((x) => x.ev === 'send' && x.t >= 0 && x.t <= 100).length;
    const all = series(messageSequenceChart(r, { window })).reduce((a, x) => a + x.data.length, 0);
    expect(all).toBe(sent);
    const capped = series(messageSequenceChart(r, { window, maxMessages: 10 })).reduce((a, x) => a + x.data.length, 0);
    expect(capped).toBe(10);
  });

  test('the latency histogram counts every sample once and its CDF ends at 1', () => {
    const o = latencyChart(result.latency.samplesMs);
    const [bars, cdf] = series(o);
    expect(bars.data.reduce((a: number, b: number) => a + b, 0)).toBe(result.latency.samplesMs.length);
    expect(cdf.data[cdf.data.length - 1]).toBe(1);
  });

  test('histogram bins one unit wide are named by their value, wider ones by their range (it printed "23-23")', () => {
    expect((latencyChart([23, 24, 25]).xAxis as any).data).toEqual(['23', '24', '25']);
    expect((latencyChart([0, 99], { bins: 10 }).xAxis as any).data.slice(0, 2)).toEqual(['0-9', '10-19']);
  });

  test('throughput adds up to the transactions the replica finalized', () => {
    const o = throughputChart(r, { bucketMs: 100, replica: 0 });
    const [txs, blocks] = series(o);
    expect(txs.data.reduce((a: number, b: number) => a + b, 0) / 10).toBeCloseTo(result.replicas[0]!.transactions, 6);
    expect(blocks.data.reduce((a: number, b: number) => a + b, 0) / 10).toBeCloseTo(result.replicas[0]!.finalized, 6);
  });
});

describe('market and comparison charts', () => {
  test('candles: open, close, low and high per interval, and volume', () => {
    const o = candlesChart([{ time: 0, price: 10, size: 1 }, { time: 500, price: 12, size: 2 }, { time: 900, price: 9, size: 1 }, { time: 1500, price: 11, size: 5 }], { intervalMs: 1000 });
    const [candles, volume] = series(o);
    expect(candles.data).toEqual([[10, 9, 9, 12], [11, 11, 11, 11]]);
    expect(volume.data).toEqual([4, 5]);
  });

  test('depth: cumulative size outwards from the best price on each side', () => {
    const o = depthChart({ bids: [{ price: 99, size: 2 }, { price: 98, size: 3 }], asks: [{ price: 101, size: 1 }, { price: 102, size: 4 }] });
    const [bids, asks] = series(o);
    expect(bids.data).toEqual([[98, 5], [99, 2]]);
    expect(asks.data).toEqual([[101, 1], [102, 5]]);
    // What ECharts draws between points i and i+1 of a step line: y[i+1] for step 'start', y[i]
    // for step 'end'. Between 98 and 99 the bid depth is the size at 99 or better (2), between 101
    // and 102 the ask depth the size at 101 or better (1): each side was drawn one level off.
    const between = (s: any, i: number) => (s.step === 'start' ? s.data[i + 1][1] : s.data[i][1]);
    expect(between(bids, 0)).toBe(2);
    expect(between(asks, 0)).toBe(1);
  });

  test('PnL: a bar per agent for small populations, a box per kind for large ones', () => {
    const few = series(pnlChart([{ name: 'mm', kind: 'market-maker', pnl: 5 }, { name: 't', kind: 'random', pnl: -5 }]));
    expect(few[0].type).toBe('bar');
    expect(few[0].data.map((d: any) => d.value)).toEqual([5, -5]);
    const many = Array.from({ length: 101 }, (_, i) => ({ name: `n${i}`, kind: i < 50 ? 'noise' : 'value', pnl: i }));
    const box = series(pnlChart(many))[0];
    expect(box.type).toBe('boxplot');
    expect(box.data[0]).toEqual([0, 12, 24, 36, 49]); // lower-rank quartiles of 0..49
  });

  test('comparison: one line per protocol on each panel, sorted by n, a tick at each size measured', () => {
    const o = comparisonChart([
      { protocol: 'a', n: 16, latencyP50: 20, messagesPerBlock: 300 },
      { protocol: 'a', n: 4, latencyP50: 10, messagesPerBlock: 20 },
      { protocol: 'a', n: 7, latencyP50: 12, messagesPerBlock: 60 },
      { protocol: 'b', n: 4, latencyP50: 0, messagesPerBlock: 8 },
    ]);
    const s = series(o);
    expect(s.map((x) => x.name)).toEqual(['a', 'b', 'a', 'b']);
    expect(s[0].data).toEqual([['4', 10], ['7', 12], ['16', 20]]);
    // The ticks are the sizes (a log axis put them at 4, 8, 16 with data at 4, 7, 16).
    for (const x of o.xAxis as any[]) expect(x.data).toEqual(['4', '7', '16']);
    expect(s[1].data).toEqual([['4', 0.1]]); // zero cannot sit on a log axis: drawn at the floor
    expect((o.yAxis as any[])[1].type).toBe('log');
  });
});

test('bench:consensus summaries become comparison rows', () => {
  expect(comparisonRowsFromBench({ runs: [{ protocol: 'pbft', n: 4, latency_ms_p50: 120, messages_per_block: 26 }] })).toEqual([{ protocol: 'pbft', n: 4, latencyP50: 120, messagesPerBlock: 26 }]);
  expect(() => comparisonRowsFromBench({ runs: [{ protocol: 'pbft', n: 4 }] })).toThrow(VizInputError);
  expect(() => comparisonRowsFromBench({})).toThrow(VizInputError);
});

describe('bad input is refused with a VizInputError', () => {
  const { run: r } = run('hotstuff');
  test.each([
    ['a reversed window', () => blockTreeChart(r, { views: { from: 5, to: 1 } })],
    ['a NaN window', () => viewTimelineChart(r, { window: { from: NaN, to: 1 } })],
    ['a zero message cap', () => messageSequenceChart(r, { maxMessages: 0 })],
    ['a NaN latency sample', () => latencyChart([1, NaN])],
    ['zero bins', () => latencyChart([1], { bins: 0 })],
    ['a replica out of range', () => throughputChart(r, { replica: 9 })],
    ['a zero candle interval', () => candlesChart([], { intervalMs: 0 })],
    ['a negative depth', () => depthChart({ bids: [{ price: 1, size: -1 }], asks: [] })],
    ['a NaN PnL', () => pnlChart([{ name: 'a', kind: 'x', pnl: NaN }])],
    ['a bad comparison row', () => comparisonChart([{ protocol: 'a', n: 0, latencyP50: 1, messagesPerBlock: 1 }])],
    ['a zero-size SVG', () => renderSvg({}, { width: 0, height: 10 })],
    ['a duplicate chart id', () => htmlReport({ title: 't', sections: [{ title: 's', charts: [{ id: 'a', option: {} }, { id: 'a', option: {} }] }] })],
    ['a chart id that is not a name', () => htmlReport({ title: 't', sections: [{ title: 's', charts: [{ id: 'a"><script>', option: {} }] }] })],
    ['a fork chart of two equal chains', () => forkChart({ protocol: 'p', convicted: [], sides: [{ label: 'a', chain: ['x', 'y'] }, { label: 'b', chain: ['x', 'y'] }] })],
  ])('%s', (_what, f) => {
    expect(f).toThrow(VizInputError);
  });
});

describe('rendering', () => {
  const { result, run: r } = run('pbft', [3]);
  const charts: Record<string, EChartsOption> = {
    tree: blockTreeChart(r),
    timeline: viewTimelineChart(r),
    sequence: messageSequenceChart(r),
    latency: latencyChart(result.latency.samplesMs),
    throughput: throughputChart(r),
    candles: candlesChart([{ time: 0, price: 1, size: 1 }]),
    depth: depthChart({ bids: [{ price: 1, size: 1 }], asks: [{ price: 2, size: 1 }] }),
    pnl: pnlChart([{ name: 'a', kind: 'k', pnl: 1 }]),
    comparison: comparisonChart([{ protocol: 'a', n: 4, latencyP50: 1, messagesPerBlock: 1 }]),
  };

  test.each(Object.keys(charts))('%s: plain JSON (it is inlined in the page) and a non-empty SVG', (name) => {
    const o = charts[name]!;
    expect(JSON.parse(JSON.stringify(o))).toEqual(o);
    const svg = renderSvg(o);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path|<rect|<text/g)!.length).toBeGreaterThan(10);
  });

  test('the HTML report inlines ECharts and the data, requests nothing, and cannot be broken out of by data', () => {
    const html = htmlReport({ title: 'A <b>run</b>', sections: [{ title: 's', text: 'x & y', tables: [{ head: ['k'], rows: [['</td>']] }], charts: [{ id: 'c1', option: { title: { text: '</script><script>alert(1)</script>' } } }] }] });
    expect(html).toContain('<title>A &lt;b&gt;run&lt;/b&gt;</title>');
    expect(html).toContain('x &amp; y');
    expect(html).toContain('&lt;/td&gt;');
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toMatch(/echarts/);
    expect(html.length).toBeGreaterThan(500_000); // the ECharts bundle itself
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/[^"'\s]*\.(js|css)\b/);
    const data = JSON.parse(html.match(/<script type="application\/json" id="bftx-data">([^<]*)<\/script>/)![1]!);
    expect(data.c1.title.text).toBe('</script><script>alert(1)</script>');
  });
});

test('the fork chart: the common prefix from genesis, each side in its lane from the first differing height, the convicted named', () => {
  const common = ['c1aaaaaaaa', 'c2aaaaaaaa'];
  const o = forkChart({ protocol: 'hotstuff', convicted: [2, 3], sides: [{ label: 'side 1 {r0}', chain: [...common, 'a3aaaaaaaa', 'a4aaaaaaaa'] }, { label: 'side 2 {r1}', chain: [...common, 'b3aaaaaaaa'] }] }) as any;
  expect(o.title.text).toBe('The fork (hotstuff): two finalized chains from height 3');
  expect(o.title.subtext).toMatch(/Convicted from their own signatures: r2, r3\.$/);
  const nodes = o.series[1].data.map((d: any) => [d.name, ...d.value]);
  expect(nodes).toEqual([
    ['genesis', 0, 1],
    ['common: c1aaaaaaaa', 1, 1],
    ['common: c2aaaaaaaa', 2, 1],
    ['side 1 {r0}: a3aaaaaaaa', 3, 2],
    ['side 1 {r0}: a4aaaaaaaa', 4, 2],
    ['side 2 {r1}: b3aaaaaaaa', 3, 0],
  ]);
  // Both branches leave the last common block.
  expect(o.series[0].data.map((e: any) => e.coords)).toContainEqual([[2, 1], [3, 0]]);
  expect(o.series[0].data.map((e: any) => e.coords)).toContainEqual([[2, 1], [3, 2]]);
  expect(renderSvg(o, { width: 900, height: 320 })).toContain('r2, r3');
});
