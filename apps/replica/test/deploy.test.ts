// The monitoring files shipped in deploy/ (issue 21): they parse, and the dashboard asks only for
// metrics and labels a replica exports (a renamed metric would leave a panel silently empty).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplicaMetrics } from '@bftx/node';
import { parse } from 'yaml';

const deploy = join(__dirname, '..', 'deploy');

test('prometheus.yml parses and scrapes /metrics of the four replicas of a default cluster (API ports 7100 to 7103)', () => {
  const config = parse(readFileSync(join(deploy, 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
  const [job] = config.scrape_configs;
  expect(job!.metrics_path).toBe('/metrics');
  expect(job!.static_configs.flatMap((s) => s.targets)).toEqual(['127.0.0.1:7100', '127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103']);
});

test('the Grafana dashboard parses, and every metric and label its queries use is one a replica exports', async () => {
  const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string; legendFormat?: string }> }> };
  const metrics = new ReplicaMetrics({ replica: 0, protocol: 'hotstuff' });
  metrics.watchFairOrdering([]); // registered by a replica running fair ordering
  const registry = metrics.registry;
  const exported = new Map<string, Set<string>>();
  for (const m of await registry.getMetricsAsJSON()) {
    const labels = new Set(['replica', 'protocol', ...((m as unknown as { values: Array<{ labels: Record<string, unknown> }> }).values.flatMap((v) => Object.keys(v.labels)))]);
    const own = (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    for (const l of own) labels.add(l);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.set(m.name + suffix, new Set([...labels, 'le']));
    else exported.set(m.name, labels);
  }
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
  for (const panel of dashboard.panels) {
    for (const t of panel.targets) {
      const metrics = [...t.expr.matchAll(/\b(bftx_[a-z_]+)/g)].map((m) => m[1]!);
      expect(metrics.length).toBeGreaterThan(0);
      for (const name of metrics) {
        expect([panel.title, name, exported.has(name)]).toEqual([panel.title, name, true]);
        const used = [...t.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((x) => x.trim())).concat([...(t.legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!));
        for (const label of used) expect([name, label, exported.get(name)!.has(label)]).toEqual([name, label, true]);
      }
    }
  }
});
