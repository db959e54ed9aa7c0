// Opens the demo's report.html in headless Chromium (Debian's package, driven by playwright-core):
// no console error, no failed request, every chart drawn. `.ci/run` installs chromium when missing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { main, type Io } from '../src/cli';

const CHROMIUM = process.env['BFTX_CHROMIUM'] ?? '/usr/bin/chromium';
const OUT = join(__dirname, '..', 'test-output', 'browser');
const quiet: Io = { out: () => undefined, err: () => undefined, tty: false };

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does), or point BFTX_CHROMIUM at one.`);
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Offline machine: no background requests, no first-run or sync traffic.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

test('the exchange report renders every chart in Chromium, with no console error and no failed request', async () => {
  // The default scenario (`npm run demo`), shortened.
  expect(await main(['exchange', '--views', '300', '--out', OUT], quiet)).toBe(0);
  const file = join(OUT, 'report.html');
  const ids = [...readFileSync(file, 'utf8').matchAll(/<div class="chart" id="([^"]+)"/g)].map((m) => m[1]!);
  expect(ids.sort()).toEqual(['exchange-block-tree', 'exchange-candles', 'exchange-compare', 'exchange-depth', 'exchange-latency', 'exchange-message-sequence', 'exchange-pnl', 'exchange-throughput', 'exchange-view-timeline']);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  await page.goto(`file://${file}`);
  await page.waitForFunction(() => (window as unknown as { bftxReport?: unknown }).bftxReport !== undefined, undefined, { timeout: 30_000 });
  const state = await page.evaluate(() => (window as unknown as { bftxReport: { charts: number; rendered: number; errors: string[] } }).bftxReport);
  expect(state).toEqual({ charts: ids.length, rendered: ids.length, errors: [] });

  // Each chart drew something: a canvas of its size with more than one colour on it.
  for (const id of ids) {
    const drawn = await page.evaluate((chartId) => {
      const canvas = document.querySelector(`#${chartId} canvas`) as HTMLCanvasElement | null;
      if (canvas === null || canvas.width === 0 || canvas.height === 0) return { canvas: false, colours: 0 };
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set<number>();
      for (let i = 0; i < pixels.length && colours.size < 50; i += 4 * 97) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
      return { canvas: true, colours: colours.size };
    }, id);
    expect({ id, ...drawn, enough: drawn.colours >= 3 }).toEqual({ id, canvas: true, colours: drawn.colours, enough: true });
  }

  // Interactive: hovering the latency chart shows a tooltip.
  await page.locator('#exchange-latency').hover(); // scrolls it into view, pointer at its centre
  // The tooltip is the only text in the chart's DOM (the chart itself is a canvas).
  await page.waitForFunction(() => (document.querySelector('#exchange-latency') as HTMLElement).innerText.includes('CDF'), undefined, { timeout: 10_000 });

  await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
  expect(problems).toEqual([]);
  expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
  await page.close();
}, 180_000);
