// Charts of one consensus run, from its trace: ECharts option objects, plain JSON (no functions),
// so one object renders as a static SVG on the server and as an interactive chart in a page.
import type { EChartsOption } from 'echarts';
import { checkWindow, VizInputError, type ConsensusRun, type Window } from './inputs';
import { readTrace, statusAt, type BlockStatus, type TraceFacts } from './trace';

export const STATUS_COLORS: Readonly<Record<BlockStatus, string>> = { finalized: '#2e7d32', certified: '#1e88e5', proposed: '#9e9e9e', orphaned: '#e65100' };
const STATUSES: readonly BlockStatus[] = ['finalized', 'certified', 'proposed', 'orphaned'];
const BYZANTINE = '#c62828';
const short = (id: string) => id.slice(0, 8);
const replicaLabel = (r: number, byz: boolean) => `r${r}${byz ? ' (Byzantine)' : ''}`;

/** The views the trace covers: [lowest, highest] proposed. */
export function viewRange(facts: TraceFacts): Window {
  let from = Infinity;
  let to = -Infinity;
  for (const b of facts.blocks.values()) {
    from = Math.min(from, b.view);
    to = Math.max(to, b.view);
  }
  return from > to ? { from: 0, to: 0 } : { from, to };
}

export interface BlockTreeOptions {
  /** Views drawn (default: the first 30 proposed). */
  readonly views?: Window;
  /** Pixel height of each replica's panel (default 150). */
  readonly panelHeight?: number;
}

/**
 * The block tree as each replica saw it: one panel per replica, a block at (view, height), an edge
 * to its parent, coloured proposed / certified / finalized / orphaned from that replica's view. The
 * label is the proposer (the view's leader); blocks of Byzantine proposers are diamonds, and
 * Byzantine replicas' panels say so.
 */
export function blockTreeChart(run: ConsensusRun, options: BlockTreeOptions = {}, facts: TraceFacts = readTrace(run)): EChartsOption {
  const all = viewRange(facts);
  const window = options.views ?? { from: all.from, to: Math.min(all.to, all.from + 29) };
  checkWindow(window, 'blockTreeChart');
  const panel = options.panelHeight ?? 150;
  const blocks = [...facts.blocks.values()].filter((b) => b.view >= window.from && b.view <= window.to);
  const byzantine = new Set(run.byzantine);
  const top = 64;
  const axes = facts.replicas.map((_, i) => i);
  return {
    animation: false,
    title: { text: `Block tree per replica (${run.protocol}, views ${window.from}-${window.to}; y: height)`, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30, data: [...STATUSES] },
    tooltip: { trigger: 'item' },
    grid: axes.map((i) => ({ left: 130, right: 24, top: top + i * panel, height: panel - 34, outerBoundsMode: 'none' as const })),
    // Every panel shows its view labels (not only the last): panels with and without labels would get different plot widths.
    xAxis: axes.map((i) => ({ type: 'value', gridIndex: i, min: window.from - 0.5, max: window.to + 0.5, minInterval: 1, axisLabel: { fontSize: 9, showMinLabel: false, showMaxLabel: false }, name: i === axes.length - 1 ? 'view (label: proposer)' : '', nameLocation: 'middle', nameGap: 24 })),
    yAxis: axes.map((i) => {
      const byz = facts.replicas[i]!.byzantine;
      return { type: 'value', gridIndex: i, minInterval: 1, scale: true, name: replicaLabel(i, byz), nameLocation: 'middle', nameGap: 30, nameRotate: 0, nameTextStyle: { color: byz ? BYZANTINE : '#333', fontWeight: 'bold', align: 'right' }, axisLabel: { fontSize: 10 } };
    }),
    series: facts.replicas.map((view, i) => {
      const inWindow = new Set(blocks.map((b) => b.id));
      return {
        type: 'graph',
        name: replicaLabel(i, view.byzantine),
        coordinateSystem: 'cartesian2d',
        xAxisIndex: i,
        yAxisIndex: i,
        categories: STATUSES.map((s) => ({ name: s, itemStyle: { color: STATUS_COLORS[s] } })),
        symbolSize: 13,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 5,
        lineStyle: { color: '#888', width: 1, opacity: 0.7 },
        label: { show: true, position: 'inside', fontSize: 8, color: '#fff' },
        labelLayout: { hideOverlap: true },
        data: blocks.map((b) => {
          const status = statusAt(view, b);
          const byzProposer = byzantine.has(b.proposer);
          return {
            name: b.id,
            value: [b.view, b.height],
            category: STATUSES.indexOf(status),
            symbol: byzProposer ? 'diamond' : 'circle',
            ...(byzProposer ? { itemStyle: { borderColor: BYZANTINE, borderWidth: 2 } } : {}),
            label: { formatter: `${b.proposer}` },
            tooltip: { formatter: `block ${short(b.id)}<br/>view ${b.view}, height ${b.height}<br/>proposer r${b.proposer}${byzProposer ? ' (Byzantine)' : ''}<br/>at r${i}: ${status}${view.voted.has(b.id) ? ', voted' : ''}` },
          };
        }),
        links: blocks.filter((b) => inWindow.has(b.parent)).map((b) => ({ source: b.id, target: b.parent })),
      };
    }),
  };
}

export interface TimeWindowOptions {
  /** Virtual ms drawn (default: the first eight views' worth). */
  readonly window?: Window;
}

/** A time window that covers the first `views` views of the trace. */
export function firstViewsWindow(facts: TraceFacts, views: number): Window {
  const starts = [...facts.viewStart.entries()].sort((a, b) => a[0] - b[0]);
  if (starts.length === 0) return { from: 0, to: 100 };
  const from = starts[0]![1];
  const to = starts[Math.min(starts.length - 1, views)]![1];
  return { from, to: to > from ? to : from + 100 };
}

/**
 * A view timeline: time across, one row per replica; proposals, votes, notarizations and
 * finalizations as marks; each view a band labelled with its leader.
 */
export function viewTimelineChart(run: ConsensusRun, options: TimeWindowOptions = {}, facts: TraceFacts = readTrace(run)): EChartsOption {
  const window = options.window ?? firstViewsWindow(facts, 8);
  checkWindow(window, 'viewTimelineChart');
  const marks: Record<'propose' | 'vote' | 'certify' | 'finalize', Array<[number, number]>> = { propose: [], vote: [], certify: [], finalize: [] };
  for (const r of run.trace) {
    if (r.t < window.from || r.t > window.to) continue;
    const replica = r['replica'];
    if (typeof replica !== 'number' || replica < 0 || replica >= run.n) continue;
    if (r.ev === 'finalize' && r['instance'] === undefined) continue; // the commit record stands for it
    if (r.ev === 'propose' || r.ev === 'vote' || r.ev === 'certify' || r.ev === 'finalize') marks[r.ev].push([r.t, replica]);
  }
  const views = [...facts.viewStart.entries()].sort((a, b) => a[0] - b[0]);
  const bands: Array<[{ xAxis: number; name: string; itemStyle: { color: string } }, { xAxis: number }]> = [];
  views.forEach(([view, start], k) => {
    const end = views[k + 1]?.[1] ?? window.to;
    if (end < window.from || start > window.to || end <= start) return;
    const leader = facts.leaders.get(view);
    bands.push([{ xAxis: Math.max(start, window.from), name: `e${view}${leader === undefined ? '' : ` L${leader}`}`, itemStyle: { color: k % 2 ? 'rgba(120,144,156,0.08)' : 'rgba(120,144,156,0.18)' } }, { xAxis: Math.min(end, window.to) }]);
  });
  const rows = Array.from({ length: run.n }, (_, i) => replicaLabel(i, run.byzantine.includes(i)));
  const series = (name: keyof typeof marks, symbol: string, size: number, color: string, extra: object = {}) => ({ type: 'scatter' as const, name, symbol, symbolSize: size, itemStyle: { color }, data: marks[name], ...extra });
  return {
    animation: false,
    title: { text: `View timeline (${run.protocol}, ${window.from}-${window.to} ms)`, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30 },
    tooltip: { trigger: 'item' },
    grid: { left: 130, right: 24, top: 80, bottom: 60 },
    xAxis: { type: 'value', min: window.from, max: window.to, name: 'virtual time (ms)', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'category', data: rows, inverse: true },
    dataZoom: [{ type: 'inside', xAxisIndex: 0 }, { type: 'slider', xAxisIndex: 0, height: 16, bottom: 6 }],
    series: [
      series('propose', 'triangle', 14, '#6a1b9a', { markArea: { silent: true, label: { position: 'insideTop', fontSize: 9, color: '#455a64' }, data: bands } }),
      series('vote', 'circle', 6, '#1e88e5'),
      series('certify', 'rect', 8, '#00897b'),
      series('finalize', 'diamond', 11, STATUS_COLORS.finalized),
    ],
  };
}

export interface MessageSequenceOptions extends TimeWindowOptions {
  /** Most messages drawn (default 1,500): the first ones sent in the window. */
  readonly maxMessages?: number;
}

/** A message-sequence view: every message sent in a window, an arrow from (send time, sender) to (arrival, receiver), coloured by kind. */
export function messageSequenceChart(run: ConsensusRun, options: MessageSequenceOptions = {}, facts: TraceFacts = readTrace(run)): EChartsOption {
  const window = options.window ?? firstViewsWindow(facts, 3);
  checkWindow(window, 'messageSequenceChart');
  const max = options.maxMessages ?? 1_500;
  if (!(Number.isSafeInteger(max) && max > 0)) throw new VizInputError(`messageSequenceChart: maxMessages must be a positive integer (got ${max})`);
  const byKind = new Map<string, Array<{ coords: [[number, number], [number, number]] }>>();
  let drawn = 0;
  let sent = 0;
  let last = window.from;
  for (const r of run.trace) {
    if (r.ev !== 'send' || r.t < window.from || r.t > window.to) continue;
    const from = r['from'];
    const to = r['to'];
    const at = r['at'];
    const kind = typeof r['kind'] === 'string' ? r['kind'] : 'message';
    if (typeof from !== 'number' || typeof to !== 'number' || typeof at !== 'number') continue;
    sent++;
    if (drawn >= max) continue;
    drawn++;
    last = Math.max(last, at);
    let list = byKind.get(kind);
    if (list === undefined) byKind.set(kind, (list = []));
    list.push({ coords: [[r.t, from], [at, to]] });
  }
  const rows = Array.from({ length: run.n }, (_, i) => replicaLabel(i, run.byzantine.includes(i)));
  const palette = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00acc1', '#6d4c41', '#3949ab', '#c0ca33', '#546e7a'];
  return {
    animation: false,
    title: { text: `Message sequence (${run.protocol}, sent in ${window.from}-${window.to} ms${drawn < sent ? `, first ${drawn} of ${sent}` : `, ${sent} messages`})`, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30 },
    tooltip: { trigger: 'item' },
    grid: { left: 130, right: 24, top: 80, bottom: 60 },
    xAxis: { type: 'value', min: window.from, max: Math.max(window.to, last), name: 'virtual time (ms)', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'category', data: rows, inverse: true, boundaryGap: false },
    dataZoom: [{ type: 'inside', xAxisIndex: 0 }, { type: 'slider', xAxisIndex: 0, height: 16, bottom: 6 }],
    series: [...byKind.entries()].map(([kind, data], k) => ({
      type: 'lines',
      name: kind,
      coordinateSystem: 'cartesian2d',
      symbol: ['none', 'arrow'],
      symbolSize: 5,
      lineStyle: { color: palette[k % palette.length], width: 1, opacity: 0.75 },
      data,
    })),
  };
}

export interface HistogramOptions {
  /** Number of bins (default 30). */
  readonly bins?: number;
  readonly unit?: string;
  readonly title?: string;
}

/** Finalization latency: a histogram of the samples, and their CDF on a second axis. */
export function latencyChart(samples: readonly number[], options: HistogramOptions = {}): EChartsOption {
  const unit = options.unit ?? 'ms';
  const binCount = options.bins ?? 30;
  if (!(Number.isSafeInteger(binCount) && binCount > 0)) throw new VizInputError(`latencyChart: bins must be a positive integer (got ${binCount})`);
  if (samples.some((s) => !Number.isFinite(s))) throw new VizInputError('latencyChart: every sample must be a finite number');
  const sorted = [...samples].sort((a, b) => a - b);
  const lo = sorted[0] ?? 0;
  const hi = sorted[sorted.length - 1] ?? 0;
  const width = Math.max(1, Math.ceil((hi - lo + 1) / binCount));
  const bins = Math.max(1, Math.ceil((hi - lo + 1) / width));
  const counts = new Array<number>(bins).fill(0);
  for (const s of sorted) counts[Math.min(bins - 1, Math.floor((s - lo) / width))]!++;
  let cumulative = 0;
  const cdf = counts.map((c) => Number(((cumulative += c) / Math.max(1, sorted.length)).toFixed(4)));
  // A bin one unit wide is named by its value ("23"), a wider one by its range ("20-24").
  const labels = counts.map((_, i) => (width === 1 ? `${lo + i}` : `${lo + i * width}-${lo + (i + 1) * width - 1}`));
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  return {
    animation: false,
    title: { text: options.title ?? `Finalization latency (${sorted.length} samples; p50 ${pct(0.5)} ${unit}, p99 ${pct(0.99)} ${unit})`, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30 },
    tooltip: { trigger: 'axis' },
    grid: { left: 60, right: 60, top: 72, bottom: 70 },
    xAxis: { type: 'category', data: labels, name: `latency (${unit})`, nameLocation: 'middle', nameGap: 50, axisLabel: { rotate: 40, fontSize: 9 } },
    yAxis: [
      { type: 'value', name: 'samples' },
      { type: 'value', name: 'CDF', min: 0, max: 1 },
    ],
    series: [
      { type: 'bar', name: 'samples', data: counts, itemStyle: { color: '#1e88e5' } },
      { type: 'line', name: 'CDF', yAxisIndex: 1, step: 'end', symbol: 'none', data: cdf, lineStyle: { color: '#e65100' } },
    ],
  };
}

export interface ThroughputOptions {
  /** Bucket width in virtual ms (default: the run split into about 60 buckets). */
  readonly bucketMs?: number;
  /** Replica whose finalizations are counted (default: the first honest one). */
  readonly replica?: number;
}

/** Throughput over time at one replica: finalized transactions per second (bars) and blocks per second (line). */
export function throughputChart(run: ConsensusRun, options: ThroughputOptions = {}, facts: TraceFacts = readTrace(run)): EChartsOption {
  const replica = options.replica ?? facts.replicas.find((r) => !r.byzantine)?.replica ?? 0;
  const view = facts.replicas[replica];
  if (view === undefined) throw new VizInputError(`throughputChart: no replica ${replica} in a run of ${run.n}`);
  const end = run.trace.length ? run.trace[run.trace.length - 1]!.t : 0;
  const bucket = options.bucketMs ?? Math.max(1, Math.ceil(end / 60));
  if (!(Number.isSafeInteger(bucket) && bucket > 0)) throw new VizInputError(`throughputChart: bucketMs must be a positive integer (got ${bucket})`);
  const n = Math.max(1, Math.ceil((end + 1) / bucket));
  const txs = new Array<number>(n).fill(0);
  const blocks = new Array<number>(n).fill(0);
  for (const c of view.commits) {
    const k = Math.min(n - 1, Math.floor(c.t / bucket));
    txs[k]! += c.txs;
    blocks[k]!++;
  }
  const perSecond = (x: number) => Number(((x * 1000) / bucket).toFixed(2));
  return {
    animation: false,
    title: { text: `Throughput at r${replica} (${run.protocol}; ${view.commits.length} blocks, ${view.commits.reduce((a, c) => a + c.txs, 0)} transactions finalized)`, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30 },
    tooltip: { trigger: 'axis' },
    grid: { left: 70, right: 70, top: 72, bottom: 50 },
    xAxis: { type: 'category', data: txs.map((_, i) => i * bucket), name: 'virtual time (ms)', nameLocation: 'middle', nameGap: 30 },
    yAxis: [
      { type: 'value', name: 'transactions/s' },
      { type: 'value', name: 'blocks/s' },
    ],
    series: [
      { type: 'bar', name: 'transactions/s', data: txs.map(perSecond), itemStyle: { color: '#43a047' } },
      { type: 'line', name: 'blocks/s', yAxisIndex: 1, symbol: 'none', data: blocks.map(perSecond), lineStyle: { color: '#6a1b9a' } },
    ],
  };
}

/** The two chains of a fork: each side's finalized block ids (index 0: height 1), who holds it, and who was convicted. */
export interface ForkInput {
  readonly protocol: string;
  readonly sides: readonly [ForkSide, ForkSide];
  /** Validators convicted by the fork proof. */
  readonly convicted: readonly number[];
}
export interface ForkSide {
  readonly label: string;
  /** Finalized block ids, height 1 first. */
  readonly chain: readonly string[];
}

/**
 * A fork as one picture: height across, the common prefix in the middle lane, each side's
 * finalized chain in a lane of its own from the first height where they differ (a few common
 * blocks before it, at most `after` blocks after it); the convicted validators in the title.
 */
export function forkChart(input: ForkInput, options: { readonly before?: number; readonly after?: number } = {}): EChartsOption {
  const [a, b] = input.sides;
  let fork = 0;
  while (fork < a.chain.length && fork < b.chain.length && a.chain[fork] === b.chain[fork]) fork++;
  if (fork >= a.chain.length || fork >= b.chain.length) throw new VizInputError('forkChart: the two chains do not differ (no fork to draw)');
  const from = Math.max(0, fork - (options.before ?? 3));
  const to = fork + (options.after ?? 12);
  const lanes = [b.label, 'common', a.label];
  type Node = { name: string; value: [number, number]; itemStyle: { color: string }; label: { show: true; formatter: string; position: 'top'; fontSize: number } };
  const nodes: Node[] = [];
  const edges: Array<{ coords: [[number, number], [number, number]] }> = [];
  // From genesis (height 0) when the fork is near the start: both branches leave a common block.
  if (from === 0) nodes.push({ name: 'genesis', value: [0, 1], itemStyle: { color: STATUS_COLORS.finalized }, label: { show: true, formatter: 'genesis', position: 'top', fontSize: 9 } });
  const add = (chain: readonly string[], lane: number, color: string, start: number) => {
    for (let i = start; i < Math.min(chain.length, to); i++) {
      nodes.push({ name: `${lanes[lane]}: ${chain[i]!}`, value: [i + 1, lane], itemStyle: { color }, label: { show: true, formatter: short(chain[i]!), position: 'top', fontSize: 9 } });
      if (i > from || from === 0) edges.push({ coords: [[i, i - 1 < fork ? 1 : lane], [i + 1, lane]] });
    }
  };
  add(a.chain.slice(0, fork), 1, STATUS_COLORS.finalized, from);
  add(a.chain, 2, '#1565c0', fork);
  add(b.chain, 0, '#6a1b9a', fork);
  const convicted = input.convicted.length ? input.convicted.map((v) => `r${v}`).join(', ') : 'nobody';
  return {
    title: {
      text: `The fork (${input.protocol}): two finalized chains from height ${fork + 1}`,
      subtext: `Each lane is what one side's honest replicas finalized, each block with a commit certificate. Convicted from their own signatures: ${convicted}.`,
      left: 'center',
      top: 4,
      textStyle: { fontSize: 14 },
      subtextStyle: { color: BYZANTINE },
    },
    grid: { left: 140, right: 30, top: 70, bottom: 45 },
    xAxis: { type: 'value', name: 'height', nameLocation: 'middle', nameGap: 26, min: from - 0.5, max: to + 0.5, minInterval: 1, axisLabel: { showMinLabel: false, showMaxLabel: false } },
    yAxis: { type: 'category', data: lanes, axisLabel: { fontWeight: 'bold' } },
    tooltip: { trigger: 'item' },
    series: [
      { type: 'lines', coordinateSystem: 'cartesian2d', data: edges, lineStyle: { color: '#90a4ae', width: 1.5 }, silent: true },
      { type: 'scatter', data: nodes, symbolSize: 16, z: 3 },
    ],
  } as EChartsOption;
}
