// npx nx run bench:fairness [-- --seeds N --protocol streamlet|hotstuff|pbft|all --jobs N]
// The attack x defence matrix of issue 18: every ordering attack against leader order (today),
// leader-proof ordering, uniform-price batches and both, the same seeds in every cell. Per cell: the
// value the coalition extracts (its PnL with the attack minus its PnL honest, same seed and defence)
// with a 95% bootstrap interval, the victim's slippage, censorship delay, order-fairness violations,
// latency and throughput, and the issue's goals checked. Runs are spread over worker processes (one
// per core unless --jobs says otherwise). A progress line per cell on stderr; last line: JSON.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ATTACKS, DEFENCES, renderCells, runMatrix, summaryJson, type Attack, type Defence, type MatrixJob, type RunFigures } from './fairness-matrix';
import { runOne, type RunSettings, type TimedFigures } from './fairness-run';
import type { WorkerRequest } from './fairness-worker';
import { PROTOCOL_NAMES } from './protocols';

/** runFairness's default delta, ms: one message delay, the latency goal's allowance, unless --delta says otherwise. */
const HARNESS_DELTA = 10;

function usage(message: string): never {
  process.stderr.write(`error: ${message}\nusage: fairness [--seeds N] [--protocol ${PROTOCOL_NAMES.join('|')}|all] [--jobs N] [--attacks a,b] [--defences a,b] [--delta ms] [--duration ms] [--powers]\n`);
  process.exit(2);
}

function whole(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) usage(`--${name} expects a whole number >= ${min}, got "${v}"`);
  return n;
}

function list<T extends string>(name: string, v: string | undefined, all: readonly T[]): readonly T[] {
  if (v === undefined) return all;
  const xs = v.split(',').map((x) => x.trim());
  for (const x of xs) if (!(all as readonly string[]).includes(x)) usage(`--${name}: unknown "${x}"; expected ${all.join(', ')}`);
  return all.filter((x) => xs.includes(x));
}

const { values: args } = (() => {
  try {
    return parseArgs({ options: { seeds: { type: 'string' }, protocol: { type: 'string' }, jobs: { type: 'string' }, attacks: { type: 'string' }, defences: { type: 'string' }, delta: { type: 'string' }, duration: { type: 'string' }, powers: { type: 'boolean' } }, allowPositionals: false });
  } catch (e) {
    return usage((e as Error).message);
  }
})();
const seedCount = whole('seeds', args.seeds, 1) ?? 20;
const protocolArg = args.protocol ?? 'hotstuff';
if (protocolArg !== 'all' && !(PROTOCOL_NAMES as readonly string[]).includes(protocolArg)) usage(`--protocol: expected ${PROTOCOL_NAMES.join(', ')} or all, got "${protocolArg}"`);
const protocols: readonly string[] = protocolArg === 'all' ? PROTOCOL_NAMES : [protocolArg];
const attacks: readonly Attack[] = list('attacks', args.attacks, ATTACKS);
const defences: readonly Defence[] = list('defences', args.defences, DEFENCES);
const delta = whole('delta', args.delta, 1);
const duration = whole('duration', args.duration, 1);
const settings: RunSettings = { ...(delta !== undefined ? { delta } : {}), ...(duration !== undefined ? { duration } : {}) };
const seeds = Array.from({ length: seedCount }, (_, k) => k + 1);
const jobs = Math.max(1, whole('jobs', args.jobs, 1) ?? availableParallelism());

/** Worker processes, each running one job at a time. */
class Pool {
  private readonly idle: ChildProcess[] = [];
  private readonly waiting: Array<(w: ChildProcess) => void> = [];
  private readonly all: ChildProcess[] = [];
  private nextId = 0;

  constructor(size: number) {
    const script = fileURLToPath(new URL('./fairness-worker.ts', import.meta.url));
    for (let k = 0; k < size; k++) {
      // The parent's own flags (--conditions=@bftx/source --import tsx) run the TypeScript sources.
      const w = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.all.push(w);
      this.idle.push(w);
    }
  }

  async run(job: MatrixJob): Promise<TimedFigures> {
    const w = this.idle.pop() ?? (await new Promise<ChildProcess>((r) => this.waiting.push(r)));
    try {
      const id = this.nextId++;
      return await new Promise<TimedFigures>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`a worker exited (code ${code}) during ${job.protocol} ${job.attack} x ${job.defence} seed ${job.seed}`));
        w.once('exit', onExit);
        const onMessage = (m: { id: number; figures?: TimedFigures; error?: string }) => {
          if (m.id !== id) return;
          w.off('message', onMessage);
          w.off('exit', onExit);
          if (m.error !== undefined) reject(new Error(`${job.protocol} ${job.attack} x ${job.defence} seed ${job.seed}: ${m.error}`));
          else resolve(m.figures!);
        };
        w.on('message', onMessage);
        w.send({ id, job, settings } satisfies WorkerRequest);
      });
    } finally {
      const next = this.waiting.shift();
      if (next) next(w);
      else this.idle.push(w);
    }
  }

  close(): void {
    for (const w of this.all) if (w.connected) w.disconnect();
  }
}

const t0 = performance.now();
let runWallMs = 0;
let runs = 0;
const rootsDisagree: string[] = [];
const pool = jobs > 1 ? new Pool(jobs) : undefined;
const execute = async (job: MatrixJob): Promise<RunFigures> => {
  const f = pool ? await pool.run(job) : runOne(job, settings);
  runWallMs += f.wallMs;
  runs++;
  if (!f.stateRootsAgree) rootsDisagree.push(`${job.protocol} ${job.attack} x ${job.defence} seed ${job.seed}`);
  return f;
};
process.stderr.write(`fairness matrix: ${protocols.join(', ')}; ${attacks.length} attacks x ${defences.length} defences, seeds 1..${seedCount}${args.powers ? ', each attack also by a client-only coalition (--powers)' : ''}; ${jobs} worker${jobs > 1 ? ' processes' : ' (this process)'}\n`);
let cells;
try {
  cells = await runMatrix({
    protocols,
    seeds,
    attacks,
    defences,
    execute,
    concurrency: jobs,
    powers: args.powers === true,
    goals: { messageDelayMs: delta ?? HARNESS_DELTA },
    onCell: (c, done, total) => {
      const goals = c.goals.filter((g) => g.applies);
      process.stderr.write(
        `[${done}/${total}] ${c.protocol} ${c.attack} x ${c.defence}: EV ${c.ev.mean.toFixed(1)} [${c.ev.lo.toFixed(1)}, ${c.ev.hi.toFixed(1)}], censorship max ${c.censorshipDelayMax}, violations ${c.fairnessViolations}; ${goals.length ? (c.pass ? 'goals met' : `FAILED: ${goals.filter((g) => !g.pass).map((g) => g.name).join('; ')}`) : 'no goal'} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
      );
    },
  });
} finally {
  pool?.close();
}
const wallS = (performance.now() - t0) / 1000;

console.log(renderCells(cells));
console.log(
  [
    'EV: attacker PnL (marked to the fundamental) with the attack minus without it, same seed and defence, quote minor units; mean over seeds [95% percentile bootstrap, 2,000 resamples].',
    ...(args.powers ? ["powers: the coalition's PnL with its replicas' powers minus the same reactions sent by a client-only coalition (its replicas honest), same seed and defence: what ordering powers are worth beyond seeing orders before they are final (in the JSON: evPowers)."] : []),
    'Victim slippage: mean over seeds (in brackets: minus the same seed without the attack). Censorship: blocks from the time f+1 honest replicas had an order to its inclusion, pooled over seeds. Violations: summed over seeds.',
    'Throughput: finalized orders against the undefended honest run (leader order, no attack, same seeds: the goal\'s ratio and the JSON\'s throughputRatio) / against the same defence without the attack. Latency goal: p50 against that undefended honest run.',
    `Goals: leader order, the EV interval above 0 (censor: or censorship above 2 blocks); both defences, the interval contains 0 and |EV| < one tick x attacked volume; ordering and both, censorship <= 2 blocks; every defence, latency p50 <= undefended + ${delta ?? HARNESS_DELTA} ms (one delay) and throughput >= 0.9.`,
  ].join('\n'),
);
const failed = cells.filter((c) => !c.pass);
console.log(`\ngoals: ${cells.length - failed.length} of ${cells.length} cells meet theirs${failed.length ? '; not met:' : ''}`);
for (const c of failed) for (const g of c.goals.filter((x) => x.applies && !x.pass)) console.log(`  ${c.protocol} ${c.attack} x ${c.defence}: ${g.name}: ${g.detail}`);
if (rootsDisagree.length) console.log(`\nWARNING: honest replicas' state roots differ in ${rootsDisagree.length} run(s): ${rootsDisagree.join('; ')}`);
console.log(`\nruntime: ${wallS.toFixed(1)} s wall for ${runs} runs on ${jobs} worker(s) (${(runWallMs / Math.max(1, runs) / 1000).toFixed(2)} s per run, ${(runWallMs / 1000).toFixed(0)} s of runs in all)`);
console.log(summaryJson(cells, { protocols, seeds: seedCount, runs, wall_s: Number(wallS.toFixed(1)), jobs }));
