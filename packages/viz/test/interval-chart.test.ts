import { htmlReport, intervalChart, renderSvg, VizInputError, type EChartsOption, type IntervalPoint } from '../src/index';

const series = (o: EChartsOption) => o.series as any[];
const points: IntervalPoint[] = [
  { group: 'sandwich', series: 'leader', mean: 80, lo: 60, hi: 100 },
  { group: 'sandwich', series: 'both', mean: 1, lo: -5, hi: 7 },
  { group: 'censor', series: 'leader', mean: 30, lo: 10, hi: 50 },
];

describe('intervalChart', () => {
  test('one series per series name, one error bar per group in first-seen order, blank where a point is missing', () => {
    const o = intervalChart(points, { title: 'Value extracted', yName: 'minor units' });
    expect((o.xAxis as any).data).toEqual(['sandwich', 'censor']);
    expect(series(o).map((s) => s.name)).toEqual(['leader', 'both']);
    expect(series(o).every((s) => s.type === 'boxplot')).toBe(true);
    expect(series(o)[0].data).toEqual([
      [60, 80, 80, 80, 100],
      [10, 30, 30, 30, 50],
    ]);
    expect(series(o)[1].data).toEqual([[-5, 1, 1, 1, 7], []]);
    expect(series(o)[0].markLine.data).toEqual([{ yAxis: 0 }]);
    expect((o.title as any).text).toBe('Value extracted');
  });

  test('renders to SVG and into a report', () => {
    const o = intervalChart(points);
    expect(renderSvg(o, { width: 600, height: 300 })).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(htmlReport({ title: 't', sections: [{ title: 's', charts: [{ id: 'ev', option: o }] }] })).toContain('"boxplot"');
  });

  test('refuses an interval that does not hold its mean, or a non-finite figure', () => {
    expect(() => intervalChart([{ group: 'a', series: 'b', mean: 5, lo: 6, hi: 9 }])).toThrow(VizInputError);
    expect(() => intervalChart([{ group: 'a', series: 'b', mean: NaN, lo: 0, hi: 1 }])).toThrow(/finite lo <= mean <= hi/);
  });
});
