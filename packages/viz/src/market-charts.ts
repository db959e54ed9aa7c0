// Charts of a market session and of a protocol comparison.
import type { EChartsOption } from 'echarts';
import { VizInputError, type AgentOutcome, type BookDepth, type ComparisonRow, type Print } from './inputs';

const title = (text: string) => ({ text, left: 'center', top: 4, textStyle: { fontSize: 14 } });

export interface CandleOptions {
  /** Candle width in ms of the tape's clock (default 60,000). */
  readonly intervalMs?: number;
  /** Labels the time axis in hh:mm from this many ms after midnight (default: raw ms). */
  readonly clock?: 'hh:mm' | 'ms';
  readonly title?: string;
}

const hhmm = (ms: number) => {
  const m = Math.floor(ms / 60_000);
  return `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

/** Price and volume: OHLC candles of the tape per interval, volume bars beneath. Intervals without trades are left out. */
export function candlesChart(prints: readonly Print[], options: CandleOptions = {}): EChartsOption {
  const interval = options.intervalMs ?? 60_000;
  if (!(Number.isSafeInteger(interval) && interval > 0)) throw new VizInputError(`candlesChart: intervalMs must be a positive integer (got ${interval})`);
  const candles = new Map<number, { open: number; close: number; low: number; high: number; volume: number }>();
  for (const p of prints) {
    if (!(Number.isFinite(p.time) && Number.isFinite(p.price) && Number.isFinite(p.size))) throw new VizInputError('candlesChart: every print needs a finite time, price and size');
    const k = Math.floor(p.time / interval);
    const c = candles.get(k);
    if (c === undefined) candles.set(k, { open: p.price, close: p.price, low: p.price, high: p.price, volume: p.size });
    else {
      c.close = p.price;
      c.low = Math.min(c.low, p.price);
      c.high = Math.max(c.high, p.price);
      c.volume += p.size;
    }
  }
  const keys = [...candles.keys()].sort((a, b) => a - b);
  const label = (k: number) => (options.clock === 'hh:mm' ? hhmm(k * interval) : String(k * interval));
  return {
    animation: false,
    title: title(options.title ?? `Price and volume (${prints.length} trades, ${interval / 1000} s candles)`),
    tooltip: { trigger: 'axis', axisPointer: { type: 'cross' } },
    axisPointer: { link: [{ xAxisIndex: 'all' }] },
    grid: [
      { left: 70, right: 30, top: 40, height: '52%' },
      { left: 70, right: 30, top: '72%', height: '14%' },
    ],
    xAxis: [
      { type: 'category', data: keys.map(label), gridIndex: 0, axisLabel: { show: false } },
      { type: 'category', data: keys.map(label), gridIndex: 1, name: options.clock === 'hh:mm' ? 'time' : 'time (ms)', nameLocation: 'middle', nameGap: 28 },
    ],
    yAxis: [
      { type: 'value', scale: true, gridIndex: 0, name: 'price (ticks)' },
      { type: 'value', gridIndex: 1, name: 'volume', splitNumber: 2 },
    ],
    dataZoom: [{ type: 'inside', xAxisIndex: [0, 1] }, { type: 'slider', xAxisIndex: [0, 1], height: 16, bottom: 4 }],
    series: [
      // ECharts candle order: open, close, low, high.
      { type: 'candlestick', name: 'price', data: keys.map((k) => { const c = candles.get(k)!; return [c.open, c.close, c.low, c.high]; }), itemStyle: { color: '#26a69a', color0: '#ef5350', borderColor: '#26a69a', borderColor0: '#ef5350' } },
      { type: 'bar', name: 'volume', xAxisIndex: 1, yAxisIndex: 1, data: keys.map((k) => candles.get(k)!.volume), itemStyle: { color: '#90a4ae' } },
    ],
  };
}

/** Order book depth: cumulative resting size by price, bids left and asks right. */
export function depthChart(book: BookDepth, options: { readonly title?: string } = {}): EChartsOption {
  const cumulative = (levels: readonly { price: number; size: number }[]) => {
    let total = 0;
    return levels.map((l) => {
      if (!(Number.isFinite(l.price) && Number.isFinite(l.size) && l.size >= 0)) throw new VizInputError('depthChart: every level needs a finite price and a non-negative size');
      return [l.price, (total += l.size)] as [number, number];
    });
  };
  const bids = cumulative(book.bids).reverse(); // lowest price first, for the x axis
  const asks = cumulative(book.asks);
  // Between two levels the depth is what rests at the farther one or better: for bids (lowest price
  // first) the next point's size, ECharts' step 'start'; for asks the previous point's, step 'end'.
  return {
    animation: false,
    title: title(options.title ?? `Order book depth (${book.bids.length} bid and ${book.asks.length} ask levels)`),
    legend: { top: 30 },
    tooltip: { trigger: 'axis' },
    grid: { left: 70, right: 30, top: 72, bottom: 50 },
    xAxis: { type: 'value', scale: true, name: 'price (ticks)', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', name: 'cumulative size' },
    series: [
      { type: 'line', name: 'bids', step: 'start', symbol: 'none', data: bids, areaStyle: { color: 'rgba(38,166,154,0.3)' }, lineStyle: { color: '#26a69a' }, itemStyle: { color: '#26a69a' } },
      { type: 'line', name: 'asks', step: 'end', symbol: 'none', data: asks, areaStyle: { color: 'rgba(239,83,80,0.3)' }, lineStyle: { color: '#ef5350' }, itemStyle: { color: '#ef5350' } },
    ],
  };
}

/** Up to this many agents, one bar each; past it, one box per kind. */
const MAX_BARS = 40;

/** Agents' PnL at the close: a bar per agent, or (for large populations) a box plot per kind. */
export function pnlChart(agents: readonly AgentOutcome[], options: { readonly title?: string } = {}): EChartsOption {
  if (agents.some((a) => !Number.isFinite(a.pnl))) throw new VizInputError('pnlChart: every agent needs a finite pnl');
  const heading = title(options.title ?? `Agents' PnL at the close (${agents.length} agents, mark to market, ticks of cash)`);
  if (agents.length <= MAX_BARS) {
    return {
      animation: false,
      title: heading,
      tooltip: { trigger: 'axis' },
      grid: { left: 120, right: 40, top: 40, bottom: 40 },
      xAxis: { type: 'value', name: 'PnL' },
      yAxis: { type: 'category', data: agents.map((a) => `${a.name} (${a.kind})`), inverse: true, axisLabel: { fontSize: 10 } },
      series: [{ type: 'bar', name: 'PnL', data: agents.map((a) => ({ value: Math.round(a.pnl), itemStyle: { color: a.pnl >= 0 ? '#26a69a' : '#ef5350' } })) }],
    };
  }
  const kinds = [...new Set(agents.map((a) => a.kind))];
  const boxes = kinds.map((k) => {
    const xs = agents.filter((a) => a.kind === k).map((a) => a.pnl).sort((a, b) => a - b);
    const q = (p: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1)))]!);
    return [q(0), q(0.25), q(0.5), q(0.75), q(1)];
  });
  return {
    animation: false,
    title: heading,
    tooltip: { trigger: 'item' },
    grid: { left: 120, right: 40, top: 40, bottom: 40 },
    xAxis: { type: 'value', name: 'PnL', scale: true },
    yAxis: { type: 'category', data: kinds.map((k) => `${k} (${agents.filter((a) => a.kind === k).length})`) },
    series: [{ type: 'boxplot', name: 'PnL by kind (min, quartiles, max)', data: boxes, itemStyle: { color: '#e3f2fd', borderColor: '#1e88e5' } }],
  };
}

/** The rows of a `bench:consensus` summary (its last JSON line), as comparison rows. */
export function comparisonRowsFromBench(summary: { readonly runs?: ReadonlyArray<{ readonly protocol?: unknown; readonly n?: unknown; readonly latency_ms_p50?: unknown; readonly messages_per_block?: unknown }> }): ComparisonRow[] {
  if (!Array.isArray(summary.runs)) throw new VizInputError('comparisonRowsFromBench: expected the bench summary, with a "runs" array');
  return summary.runs.map((r, i) => {
    const { protocol, n, latency_ms_p50: latency, messages_per_block: messages } = r;
    if (typeof protocol !== 'string' || typeof n !== 'number' || typeof latency !== 'number' || typeof messages !== 'number') throw new VizInputError(`comparisonRowsFromBench: run ${i} lacks protocol, n, latency_ms_p50 or messages_per_block`);
    return { protocol, n, latencyP50: latency, messagesPerBlock: messages };
  });
}

/** Protocols side by side against n: median latency and messages per finalized block, on log scales. */
export function comparisonChart(rows: readonly ComparisonRow[], options: { readonly title?: string } = {}): EChartsOption {
  for (const r of rows) if (!(r.n > 0 && r.latencyP50 >= 0 && r.messagesPerBlock >= 0)) throw new VizInputError(`comparisonChart: bad row for ${r.protocol} at n=${r.n}`);
  const protocols = [...new Set(rows.map((r) => r.protocol))];
  const palette = ['#1e88e5', '#e65100', '#2e7d32', '#8e24aa', '#6d4c41'];
  const line = (p: string, k: number, axis: number, pick: (r: ComparisonRow) => number) => ({
    type: 'line' as const,
    name: p,
    xAxisIndex: axis,
    yAxisIndex: axis,
    symbolSize: 7,
    lineStyle: { color: palette[k % palette.length] },
    itemStyle: { color: palette[k % palette.length] },
    data: rows.filter((r) => r.protocol === p).sort((a, b) => a.n - b.n).map((r) => [String(r.n), Math.max(pick(r), 0.1)]),
  });
  // The sizes measured, one tick each (a log axis put its ticks at 4, 8, 16 where the data was at 4, 7, 10).
  const sizes = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b).map(String);
  return {
    animation: false,
    title: title(options.title ?? 'Protocols compared (log scale of latency and messages)'),
    legend: { top: 30 },
    tooltip: { trigger: 'item' },
    grid: [
      { left: 70, right: '54%', top: 80, bottom: 50 },
      { left: '56%', right: 30, top: 80, bottom: 50 },
    ],
    xAxis: [
      { type: 'category', data: sizes, boundaryGap: false, gridIndex: 0, name: 'replicas (n)', nameLocation: 'middle', nameGap: 28 },
      { type: 'category', data: sizes, boundaryGap: false, gridIndex: 1, name: 'replicas (n)', nameLocation: 'middle', nameGap: 28 },
    ],
    yAxis: [
      { type: 'log', gridIndex: 0, name: 'median latency (ms)' },
      { type: 'log', gridIndex: 1, name: 'messages per final block' },
    ],
    series: [...protocols.map((p, k) => line(p, k, 0, (r) => r.latencyP50)), ...protocols.map((p, k) => line(p, k, 1, (r) => r.messagesPerBlock))],
  };
}
