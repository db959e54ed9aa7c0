// The demo's command line: parse (commander), run a scenario with a progress bar, print the
// summary table (80 columns), write report.html, the trace (gzipped by default) and summary.json.
// Exit codes: 0 done, 1 the run broke a promise (or the output could not be written), 2 bad options.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { htmlReport, renderSvg } from '@bftx/viz';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { integerIn, parseNodeList, parseProtocol, parseStrategies, parseWindow, PROTOCOL_NAMES, STRATEGY_HELP, UsageError, type StrategySpec } from './options';
import { FAIRNESS_ATTACKS, FAIRNESS_DEFENCES, fairnessScenario, type FairnessAttack, type FairnessDefence } from './fairness';
import { basicScenario, byzantineScenario, compareScenario, exchangeScenario, marketScenario, type Outcome, type Progress, type Settings } from './scenarios';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Draw progress bars (on a terminal). */
  readonly tty: boolean;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), tty: Boolean(process.stderr.isTTY) };

interface CommonFlags {
  protocol: Settings['protocol'];
  nodes: number;
  byzantine?: StrategySpec[];
  seed: number;
  views: number;
  delta: number;
  signatures: Settings['signatures'];
  out: string;
  trace: TraceFormat;
  window?: { from: number; to: number };
}

/**
 * The options scenarios share. A command offers only those it uses: `compare` runs every protocol
 * at its own sizes (no --protocol, --nodes), `basic` and `compare` run honest replicas only (no
 * --byzantine); an option in --help is one the command honours.
 */
function common(cmd: Command, defaults: { protocol?: string; nodes?: number; views?: number; signatures: string; byzantine?: string; delta?: string }): Command {
  if (defaults.protocol !== undefined) cmd.addOption(new Option('-p, --protocol <name>', 'consensus protocol').choices(PROTOCOL_NAMES).default(defaults.protocol).argParser(parseProtocol));
  if (defaults.nodes !== undefined) cmd.addOption(new Option('-n, --nodes <n>', 'replicas').default(defaults.nodes).argParser(integerIn(1, 64)));
  if (defaults.byzantine !== undefined) {
    cmd.addOption(new Option('-b, --byzantine <strategy,...>', `Byzantine replicas' strategies, one per replica, given to the highest-numbered replicas: ${STRATEGY_HELP}; "none" for none`).default(parseStrategies(defaults.byzantine), defaults.byzantine).argParser(parseStrategies));
  }
  cmd.addOption(new Option('-s, --seed <n>', 'seed of the run: the same seed gives the same run').default(1).argParser(integerIn(0, 2 ** 32 - 1)));
  if (defaults.views !== undefined) {
    cmd.addOption(new Option('-e, --views <n>', 'virtual run length, in views of 2 x delta').default(defaults.views).argParser(integerIn(1, 1_000_000)));
    cmd.addOption(new Option('-w, --window <from-to>', 'virtual ms shown by the view timeline and the message sequence (default: the first views)').argParser(parseWindow));
  }
  return cmd
    .addOption(new Option('--delta <ms>', 'network delay bound delta, virtual ms').default(10, defaults.delta ?? '10').argParser(integerIn(1, 60_000)))
    .addOption(new Option('--signatures <scheme>', 'consensus signatures: real Ed25519, or the simulator\'s scheme (fast; unforgeable inside the simulator)').choices(['ed25519', 'simulated']).default(defaults.signatures))
    .addOption(new Option('-o, --out <dir>', 'output folder for report.html, the trace, summary.json and charts/').default('out'))
    .addOption(traceOption());
}

/** How the run's trace is written: gzip by default (a long run's is tens of MB as text). */
type TraceFormat = 'gz' | 'jsonl' | 'none';
function traceOption(): Option {
  return new Option('--trace <format>', 'the trace, one JSON event per line: gz writes trace.jsonl.gz (read it with zcat), jsonl the plain trace.jsonl, none none').choices(['gz', 'jsonl', 'none']).default('gz');
}
const output = (f: { out: string; trace: TraceFormat }) => ({ out: f.out, trace: f.trace });

/** Runs the CLI on `argv` (without "node script"); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let outcome: { run: (progress: Progress | undefined) => Outcome; out: string; trace: TraceFormat } | undefined;
  const program = new Command('bftx-demo')
    .description('bftx demo: an exchange replicated by BFT consensus, on an in-process simulated cluster. Writes a self-contained HTML report, a JSONL trace and a JSON summary.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)');

  const settings = (f: CommonFlags): Settings => ({ protocol: f.protocol, nodes: f.nodes, byzantine: f.byzantine ?? [], seed: f.seed, views: f.views, delta: f.delta, signatures: f.signatures, ...(f.window ? { window: f.window } : {}) });

  common(program.command('exchange', { isDefault: true }).description('the distributed-exchange scenario (default): replicas run consensus over signed orders from a market maker and random traders, one replica double-votes, a rogue client forges orders'), { protocol: 'streamlet', nodes: 5, views: 1500, signatures: 'ed25519', byzantine: 'vote-twice' }).action((f: CommonFlags) => {
    outcome = { run: (p) => exchangeScenario(settings(f), p), ...output(f) };
  });
  common(program.command('basic').description('consensus with honest replicas only, ordering client transactions'), { protocol: 'streamlet', nodes: 5, views: 100, signatures: 'ed25519' }).action((f: CommonFlags) => {
    outcome = { run: (p) => basicScenario(settings(f), p), ...output(f) };
  });
  common(program.command('byzantine').description('consensus with Byzantine replicas (default: one equivocating leader); checks safety and reports offenders with evidence'), { protocol: 'streamlet', nodes: 5, views: 100, signatures: 'ed25519', byzantine: 'equivocate' }).action((f: CommonFlags) => {
    outcome = { run: (p) => byzantineScenario(settings(f), p), ...output(f) };
  });
  common(program.command('compare').description('every protocol at several cluster sizes: latency and messages per decision'), { views: 60, signatures: 'simulated' })
    .addOption(new Option('--sizes <n,...>', 'cluster sizes to compare').default([4, 7, 10, 16], '4,7,10,16').argParser(parseNodeList))
    .action((f: CommonFlags & { sizes: number[] }) => {
      // Every protocol at every size: the protocol and size settings only fill the shared shape.
      outcome = { run: (p) => compareScenario({ ...settings({ ...f, protocol: 'streamlet', nodes: f.sizes[0]! }), sizes: f.sizes }, p), ...output(f) };
    });
  common(program.command('market').description('the agent-based market (ABIDES RMSC04-like population) on one exchange, or through a replicated cluster'), { protocol: 'hotstuff', nodes: 4, signatures: 'simulated', byzantine: 'none', delta: '100' })
    .addOption(new Option('--venue <venue>', 'direct: one exchange; replicated: through a simulated cluster').choices(['direct', 'replicated']).default('direct'))
    .addOption(new Option('--minutes <m>', 'session length from 09:30 (default: the whole day on the direct venue, 5 minutes replicated)').argParser(integerIn(1, 390)))
    .addOption(new Option('--scale <x>', 'population scale (1 = 1,116 agents)').default(1).argParser((v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x > 0 && x <= 10)) throw new InvalidArgumentError('expected a number above 0, at most 10.');
      return x;
    }))
    .action((f: CommonFlags & { venue: 'direct' | 'replicated'; minutes?: number; scale: number }, cmd: Command) => {
      // Market data every second and 100 ms latency: delta 100 ms keeps the cluster near the agents'
      // pace, unless --delta is given (10 included).
      const delta = cmd.getOptionValueSource('delta') === 'default' ? 100 : f.delta;
      outcome = { run: (p) => marketScenario({ ...settings({ ...f, views: 0 }), delta, venue: f.venue, minutes: f.minutes ?? (f.venue === 'direct' ? 390 : 5), scale: f.scale }, p), ...output(f) };
    });

  program
    .command('fairness')
    .description('fair ordering (issue 18): a Byzantine coalition front-runs, sandwiches, reorders and censors a victim\'s orders under leader order, leader-proof ordering, uniform-price batches and both; the value it extracts per attack and defence, and one sandwich block by block')
    .addOption(new Option('-p, --protocol <name>', 'consensus protocol').choices(PROTOCOL_NAMES).default('hotstuff').argParser(parseProtocol))
    .addOption(new Option('-s, --seed <n>', 'first seed; the runs use --seeds consecutive seeds, the same in every cell').default(1).argParser(integerIn(0, 2 ** 32 - 100)))
    .addOption(new Option('--seeds <n>', 'seeds per cell (`npx nx run bench:fairness` runs 20 and checks the goals)').default(3).argParser(integerIn(1, 50)))
    .addOption(new Option('--seconds <s>', 'virtual session length of each run (the bench runs 30)').default(10).argParser(integerIn(1, 3600)))
    .addOption(new Option('--attacks <a,...>', `attacks: ${FAIRNESS_ATTACKS.join(', ')}`).default([...FAIRNESS_ATTACKS], 'all').argParser(choiceList('attack', FAIRNESS_ATTACKS)))
    .addOption(new Option('--defences <d,...>', `defences: ${FAIRNESS_DEFENCES.join(', ')}`).default([...FAIRNESS_DEFENCES], 'all').argParser(choiceList('defence', FAIRNESS_DEFENCES)))
    .addOption(new Option('-o, --out <dir>', 'output folder for report.html, the trace, summary.json and charts/').default('out'))
    .addOption(traceOption())
    .action((f: { protocol: Settings['protocol']; seed: number; seeds: number; seconds: number; attacks: FairnessAttack[]; defences: FairnessDefence[]; out: string; trace: TraceFormat }) => {
      outcome = { run: (p) => fairnessScenario({ protocol: f.protocol, seed: f.seed, seeds: f.seeds, duration: f.seconds * 1000, attacks: f.attacks, defences: f.defences }, p), ...output(f) };
    });

  // With a default command, commander would take an unknown command for an argument of `exchange`.
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && !program.commands.some((c) => c.name() === first || c.aliases().includes(first))) {
    return usage(io, `unknown command '${first}'; the commands are ${program.commands.map((c) => c.name()).join(', ')}.`);
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander has printed the message
    if (e instanceof UsageError) return usage(io, e.message);
    throw e;
  }
  if (outcome === undefined) return 0;

  // Fail before a long run, not after it, when the output folder cannot be made.
  const outDir = resolve(outcome.out);
  try {
    mkdirSync(join(outDir, 'charts'), { recursive: true });
  } catch (e) {
    if (!isFileSystemError(e)) throw e;
    io.err(`error: cannot create the output folder ${outcome.out}: ${e.message}\n`);
    return 1;
  }
  let result: Outcome;
  try {
    result = outcome.run(io.tty ? progressBar() : undefined);
  } catch (e) {
    // Only a bad combination of options is the user's to fix; anything else is a bug (main.ts says so).
    if (e instanceof UsageError) return usage(io, e.message);
    throw e;
  }
  printSummary(io, result);
  try {
    const paths = writeOutputs(outDir, result, outcome.trace);
    io.out(`\nwrote:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  } catch (e) {
    // File-system errors (no permission, not a folder, disk full) are the user's to fix; anything else is a bug.
    if (!isFileSystemError(e)) throw e;
    io.err(`error: could not write the output to ${outcome.out}: ${e.message}\n`);
    return 1;
  }
  if (result.next !== undefined) io.out(`\n${wrap(result.next, 80)}\n`);
  if (result.failure !== undefined) {
    io.err(`\nFAILED: ${result.failure}\n`);
    return 1;
  }
  return 0;
}

/** A Node system error (it has a string `code`). Duck-typed: such errors may come from another realm (e.g. under jest). */
function isFileSystemError(e: unknown): e is Error & { code: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string';
}

/** A comma-separated subset of `all`, in `all`'s order. */
function choiceList<T extends string>(what: string, all: readonly T[]): (value: string) => T[] {
  return (value) => {
    const xs = value.split(',').map((x) => x.trim());
    for (const x of xs) if (!(all as readonly string[]).includes(x)) throw new InvalidArgumentError(`unknown ${what} "${x}"; expected ${all.join(', ')}.`);
    return all.filter((x) => xs.includes(x));
  };
}

function usage(io: Io, message: string): number {
  io.err(`error: ${message}\n(run with --help for usage)\n`);
  return 2;
}

function progressBar(): Progress {
  const bar = new SingleBar({ format: '{label} [{bar}] {percentage}% | {eta_formatted} left', stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 20 });
  let total = 1;
  return {
    start(t, label) {
      total = t;
      bar.start(t, 0, { label });
    },
    update(done) {
      bar.update(Math.min(done, total));
    },
    stop() {
      bar.stop();
    },
  };
}

/** Columns of the summary: with the borders, the table is 80 characters wide. */
const SUMMARY_WIDTHS = [41, 36] as const;

function printSummary(io: Io, r: Outcome): void {
  const table = new Table({ colWidths: [...SUMMARY_WIDTHS], wordWrap: true, style: { head: [], border: [], compact: true } });
  for (const [k, v] of r.table) table.push([k, String(v)]);
  io.out(`\n${wrap(r.title, 80)}\n${table.toString()}\n`);
}

/** Text broken at spaces into lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

/**
 * Writes the report, the summary, the trace (as asked) and the charts as static SVGs; returns their
 * paths. What an earlier run left in the folder under these names (another trace format, charts
 * this run does not draw) is removed: the folder holds one run.
 */
function writeOutputs(dir: string, r: Outcome, trace: TraceFormat): string[] {
  const charts = join(dir, 'charts');
  mkdirSync(charts, { recursive: true });
  for (const f of readdirSync(charts)) if (f.endsWith('.svg')) rmSync(join(charts, f));
  for (const f of ['trace.jsonl', 'trace.jsonl.gz']) if (existsSync(join(dir, f))) rmSync(join(dir, f));
  const report = join(dir, 'report.html');
  writeFileSync(report, htmlReport({ title: r.title, subtitle: `bftx demo, ${new Date().toISOString().slice(0, 19)}Z. Every figure here was computed in this run; the charts are interactive (hover, zoom, legend).`, sections: [{ title: 'Summary', tables: [{ head: [], rows: r.table.map(([k, v]) => [k, v]) }] }, ...r.sections] }));
  const summary = join(dir, 'summary.json');
  writeFileSync(summary, JSON.stringify(r.summary, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  const written = [report];
  if (trace !== 'none') {
    // In chunks of lines: a long run's trace is tens of MB as text (a few MB gzipped).
    const chunks: Buffer[] = [];
    for (let i = 0; i < r.trace.length; i += 10_000) chunks.push(Buffer.from(r.trace.slice(i, i + 10_000).map((x) => JSON.stringify(x)).join('\n') + '\n'));
    const text = Buffer.concat(chunks);
    const path = join(dir, trace === 'gz' ? 'trace.jsonl.gz' : 'trace.jsonl');
    writeFileSync(path, trace === 'gz' ? gzipSync(text) : text);
    written.push(path);
  }
  const svgs: string[] = [];
  for (const c of r.sections.flatMap((s) => s.charts ?? [])) {
    const path = join(charts, `${c.id}.svg`);
    writeFileSync(path, renderSvg(c.option, { width: 1000, height: c.height ?? 420 }));
    svgs.push(path);
  }
  return [...written, summary, `${charts}/ (${svgs.length} SVGs)`];
}
