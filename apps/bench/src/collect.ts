import Table from 'cli-table3';

/** The JSON summary a bench prints as its last line (the last line that parses as a JSON object). */
export function lastJsonLine(output: string): Record<string, unknown> | undefined {
  const lines = output.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON: keep looking upward
    }
  }
  return undefined;
}

/** Flattens nested figures to "a.b" keys, so every bench fits one table shape. */
export function flatten(value: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v as Record<string, unknown>, key));
    else out.push([key, typeof v === 'number' ? v.toLocaleString('en-US') : String(v)]);
  }
  return out;
}

export interface BenchOutcome {
  project: string;
  summary?: Record<string, unknown>;
  error?: string;
}

/** One row per figure: project, figure, value. */
export function renderTable(outcomes: readonly BenchOutcome[]): string {
  const table = new Table({ head: ['project', 'figure', 'value'], style: { head: [], border: [], compact: true } });
  for (const o of outcomes) {
    if (o.summary === undefined) {
      table.push([o.project, 'error', o.error ?? 'no JSON summary line']);
      continue;
    }
    for (const [k, v] of flatten(o.summary)) table.push([o.project, k, v]);
  }
  return table.toString();
}
