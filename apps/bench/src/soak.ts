// The soak runner: generated conformance runs (every class of @bftx/conformance, and the
// Byzantine scenario families) on every core, for as long as asked. Prints progress, every failure
// with a one-line replay, and a JSON summary as its last line.
//
//   npm run soak -- --protocol hotstuff --minutes 10 [--workers 4] [--seed 1]
//   npm run soak -- --protocol hotstuff --replay '<spec JSON printed by a failure>'
import { anyClassArb, assertRun, ledgerDisagreement, scenarioArb, scenarioConfig, type RunSpec, type Scenario } from '@bftx/conformance';
import * as sim from '@bftx/sim';
import fc from 'fast-check';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PROTOCOL_NAMES, protocolByName, type ProtocolName } from './protocols';

interface WorkerTask {
  readonly protocol: ProtocolName;
  readonly until: number;
  readonly seed: number;
}
type WorkerReport = { readonly type: 'progress'; readonly done: number } | { readonly type: 'failure'; readonly message: string } | { readonly type: 'done'; readonly done: number };


/** One generated run: a class run (70%) or a Byzantine scenario family run; throws on any problem. */
function runOne(name: ProtocolName, seed: number): void {
  const protocol = protocolByName(name);
  if (seed % 10 < 7) {
    const [spec] = fc.sample(anyClassArb(protocol, sim.STRATEGY_KINDS), { seed, numRuns: 1 });
    assertRun(protocol, spec!);
    return;
  }
  const [s] = fc.sample(scenarioArb(sim.STRATEGY_KINDS), { seed, numRuns: 1 });
  const outcome = sim.simulate({ protocol, ...(scenarioConfig(s!) as Omit<sim.SimulationConfig<unknown>, 'protocol'>) });
  const problem = outcome.safetyViolation ?? ledgerDisagreement(outcome);
  if (problem !== undefined) throw new Error(`safety: ${problem}\nscenario: ${JSON.stringify(s)}\nreplay: npm run soak -- --protocol ${name} --scenario '${JSON.stringify(s)}'`);
}

function worker(task: WorkerTask): void {
  let done = 0;
  let lastReport = Date.now();
  for (let seed = task.seed; Date.now() < task.until; seed += 1) {
    try {
      runOne(task.protocol, seed);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      parentPort!.postMessage({ type: 'failure', message: `${message}\n(generated from seed ${seed})` } satisfies WorkerReport);
    }
    done++;
    if (Date.now() - lastReport > 1000) {
      parentPort!.postMessage({ type: 'progress', done } satisfies WorkerReport);
      lastReport = Date.now();
    }
  }
  parentPort!.postMessage({ type: 'done', done } satisfies WorkerReport);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      protocol: { type: 'string', default: 'hotstuff' },
      minutes: { type: 'string', default: '1' },
      workers: { type: 'string', default: String(availableParallelism()) },
      seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
      replay: { type: 'string' },
      scenario: { type: 'string' },
    },
  });
  const name = values.protocol as ProtocolName;
  if (!PROTOCOL_NAMES.includes(name)) throw new Error(`--protocol must be one of ${PROTOCOL_NAMES.join(', ')}, got "${values.protocol}"`);
  if (values.replay !== undefined || values.scenario !== undefined) {
    const protocol = protocolByName(name);
    if (values.replay !== undefined) assertRun(protocol, JSON.parse(values.replay) as RunSpec);
    else {
      const outcome = sim.simulate({ protocol, ...(scenarioConfig(JSON.parse(values.scenario!) as Scenario) as Omit<sim.SimulationConfig<unknown>, 'protocol'>) });
      const problem = outcome.safetyViolation ?? ledgerDisagreement(outcome);
      if (problem !== undefined) throw new Error(problem);
    }
    console.log('replay passed');
    return;
  }
  const minutes = Number(values.minutes);
  const workers = Number(values.workers);
  const seed = Number(values.seed);
  if (!(minutes > 0) || !Number.isSafeInteger(workers) || workers < 1 || !Number.isSafeInteger(seed)) throw new Error('--minutes must be positive, --workers and --seed integers');
  const started = Date.now();
  const until = started + minutes * 60_000;
  const counts = new Array<number>(workers).fill(0);
  const failures: string[] = [];
  console.log(`soak: ${name}, ${workers} worker(s), ${minutes} min, seeds from ${seed} (worker k takes seed + k * 1e9 on)`);
  const progress = setInterval(() => {
    const done = counts.reduce((a, b) => a + b, 0);
    const s = (Date.now() - started) / 1000;
    console.log(`  ${s.toFixed(0)} s: ${done} scenarios, ${(done / s).toFixed(1)}/s, ${failures.length} failure(s)`);
  }, 10_000);
  try {
    await Promise.all(
    counts.map(
      (_, k) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(workerEntry(), { workerData: { protocol: name, until, seed: seed + k * 1_000_000_000 } satisfies WorkerTask, execArgv: workerExecArgv() });
          w.on('message', (r: WorkerReport) => {
            if (r.type === 'failure') {
              failures.push(r.message);
              console.log(`FAILURE: ${r.message}`);
            } else counts[k] = r.done;
            if (r.type === 'done') resolve();
          });
          w.on('error', reject);
        }),
      ),
    );
  } finally {
    clearInterval(progress);
  }
  const seconds = (Date.now() - started) / 1000;
  const scenarios = counts.reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ protocol: name, workers, seconds: Math.round(seconds), scenarios, perSecond: Number((scenarios / seconds).toFixed(2)), perCoreSecond: Number((scenarios / seconds / workers).toFixed(2)), failures: failures.length }));
  if (failures.length > 0) process.exitCode = 1;
}

/**
 * Workers run this file too. tsx's `--import` hooks are not inherited by worker threads on Node 20,
 * so a worker starts from a small module that registers tsx, then imports this file.
 */
function workerEntry(): URL {
  if (import.meta.url.endsWith('.js')) return new URL(import.meta.url); // a bundled build needs no loader
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(import.meta.url)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

function workerExecArgv(): string[] {
  return process.execArgv.filter((a, i, all) => a !== '--import' && all[i - 1] !== '--import');
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 2;
  });
} else worker(workerData as WorkerTask);
