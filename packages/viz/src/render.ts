// Server-side rendering (no DOM, no canvas) and the single-file HTML report.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import { VizInputError } from './inputs';

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** Renders one chart to a standalone SVG document. */
export function renderSvg(option: EChartsOption, size: Size = { width: 900, height: 420 }): string {
  if (!(size.width > 0 && size.height > 0)) throw new VizInputError(`renderSvg: width and height must be positive (got ${size.width}x${size.height})`);
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({ backgroundColor: '#fff', ...option, animation: false });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export interface ReportChart {
  /** Unique within the report; becomes the element id (letters, digits, dashes). */
  readonly id: string;
  readonly option: EChartsOption;
  /** Pixel height in the page (default 420). */
  readonly height?: number;
  /** One line under the chart: what it shows. */
  readonly caption?: string;
}

export interface ReportTable {
  readonly head: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
}

export interface ReportSection {
  readonly title: string;
  readonly text?: string;
  readonly tables?: readonly ReportTable[];
  readonly charts?: readonly ReportChart[];
}

export interface Report {
  readonly title: string;
  readonly subtitle?: string;
  readonly sections: readonly ReportSection[];
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
// JSON inside <script>: no "</script>" or "<!--" can close or confuse the element.
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

let echartsSource: string | undefined;
/** The ECharts browser bundle that the report inlines (read once). */
function echartsBrowserBundle(): string {
  if (echartsSource === undefined) {
    // CommonJS has `require`; ESM (where a bundler may leave a `require` stub without `resolve`) resolves from this module's URL.
    const req = typeof require === 'function' && typeof require.resolve === 'function' ? require : createRequire(import.meta.url);
    echartsSource = readFileSync(req.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsSource;
}

/**
 * A self-contained HTML page: the ECharts bundle, the data and the page script inlined; no request
 * leaves the file. Charts are interactive (tooltips, legends, zoom). When every chart has rendered,
 * the page sets `window.bftxReport = { charts, rendered, errors }` (what the browser test reads).
 */
export function htmlReport(report: Report): string {
  const charts = report.sections.flatMap((s) => s.charts ?? []);
  const ids = new Set<string>();
  for (const c of charts) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(c.id)) throw new VizInputError(`htmlReport: chart id "${c.id}" must be letters, digits and dashes, starting with a letter`);
    if (ids.has(c.id)) throw new VizInputError(`htmlReport: chart id "${c.id}" is used twice`);
    ids.add(c.id);
  }
  const table = (t: ReportTable) => `<table>${t.head.length ? `<thead><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : ''}<tbody>${t.rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(String(v))}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const section = (s: ReportSection) =>
    `<section><h2>${escapeHtml(s.title)}</h2>${s.text ? `<p>${escapeHtml(s.text)}</p>` : ''}${(s.tables ?? []).map(table).join('')}${(s.charts ?? [])
      .map((c) => `<figure><div class="chart" id="${c.id}" style="height:${c.height ?? 420}px"></div>${c.caption ? `<figcaption>${escapeHtml(c.caption)}</figcaption>` : ''}</figure>`)
      .join('')}</section>`;
  const data = Object.fromEntries(charts.map((c) => [c.id, c.option]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#222}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 12px}table{border-collapse:collapse;margin:8px 0 12px}td,th{border:1px solid #ddd;padding:3px 10px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}figure{margin:12px 0}.chart{width:100%}figcaption{color:#555;font-size:12px}
</style></head><body>
<h1>${escapeHtml(report.title)}</h1>${report.subtitle ? `<p class="sub">${escapeHtml(report.subtitle)}</p>` : ''}
${report.sections.map(section).join('\n')}
<script>${echartsBrowserBundle()}</script>
<script type="application/json" id="bftx-data">${scriptJson(data)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('bftx-data').textContent);
  var state = { charts: Object.keys(data).length, rendered: 0, errors: [] };
  var instances = [];
  Object.keys(data).forEach(function (id) {
    try {
      var chart = echarts.init(document.getElementById(id), null, { renderer: 'canvas' });
      chart.setOption(data[id]);
      instances.push(chart);
      state.rendered++;
    } catch (e) { state.errors.push(id + ': ' + e.message); }
  });
  window.addEventListener('resize', function () { instances.forEach(function (c) { c.resize(); }); });
  window.bftxReport = state;
})();
</script>
</body></html>
`;
}
