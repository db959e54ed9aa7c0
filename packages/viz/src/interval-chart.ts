// Means with intervals, grouped: e.g. the value a coalition extracts per attack (groups) under each
// defence (series), each with its 95% interval. Drawn as error bars (ECharts boxplot series whose box
// collapses onto the mean), with a dashed line at 0 (always on the axis).
import type { EChartsOption } from 'echarts';
import { VizInputError } from './inputs';

export interface IntervalPoint {
  /** The category on the x axis (e.g. the attack). */
  readonly group: string;
  /** One series per value, side by side within a group (e.g. the defence). */
  readonly series: string;
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
}

export interface IntervalChartOptions {
  readonly title?: string;
  /** The y axis's name (the unit). */
  readonly yName?: string;
}

const PALETTE = ['#c62828', '#1e88e5', '#f9a825', '#2e7d32', '#8e24aa', '#6d4c41'];

/** Error bars: for each group, one bar per series from `lo` to `hi` with a tick at `mean`. A missing (group, series) is left blank. */
export function intervalChart(points: readonly IntervalPoint[], options: IntervalChartOptions = {}): EChartsOption {
  for (const p of points) {
    if (![p.mean, p.lo, p.hi].every(Number.isFinite) || !(p.lo <= p.mean && p.mean <= p.hi)) throw new VizInputError(`intervalChart: ${p.group} / ${p.series} needs finite lo <= mean <= hi (got ${p.lo}, ${p.mean}, ${p.hi})`);
  }
  const groups = [...new Set(points.map((p) => p.group))];
  const names = [...new Set(points.map((p) => p.series))];
  const at = new Map(points.map((p) => [`${p.group}\u0000${p.series}`, p]));
  return {
    animation: false,
    title: { text: options.title ?? 'Means with intervals', left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 30 },
    tooltip: { trigger: 'item' },
    grid: { left: 80, right: 30, top: 80, bottom: 50 },
    xAxis: { type: 'category', data: groups, axisTick: { alignWithLabel: true } },
    yAxis: { type: 'value', name: options.yName ?? '', nameLocation: 'middle', nameGap: 60 },
    series: names.map((name, k) => ({
      type: 'boxplot' as const,
      name,
      boxWidth: [4, 14],
      itemStyle: { color: PALETTE[k % PALETTE.length], borderColor: PALETTE[k % PALETTE.length], borderWidth: 2 },
      // [min, Q1, median, Q3, max]: the box collapses onto the mean, the whiskers reach lo and hi.
      data: groups.map((g) => {
        const p = at.get(`${g}\u0000${name}`);
        return p === undefined ? [] : [p.lo, p.mean, p.mean, p.mean, p.hi];
      }),
      ...(k === 0 ? { markLine: { silent: true, symbol: 'none', label: { show: false }, lineStyle: { type: 'dashed' as const, color: '#888' }, data: [{ yAxis: 0 }] } } : {}),
    })),
  };
}
