// The demo's scenarios. Each runs on the in-process simulator and returns what the CLI prints and
// writes: a summary table, summary.json, a trace, and the report's sections.
import { distributedExchange, rmsc04Session, runMarket, simulatedCluster, type MarketResult } from '@bftx/agents';
import { investigate, verifyForkProof, type Evidence, type SignedStatement } from '@bftx/consensus';
import { createSignatureScheme, toHex } from '@bftx/crypto';
import { splitBrain, startSimulation, synchronous, type SimulationResult, type Strategy, type TraceRecord } from '@bftx/sim';
import {
  blockTreeChart,
  candlesChart,
  comparisonChart,
  depthChart,
  forkChart,
  viewTimelineChart,
  latencyChart,
  messageSequenceChart,
  pnlChart,
  readTrace,
  throughputChart,
  type ComparisonRow,
  type ConsensusRun,
  type ForkSide,
  type ReportChart,
  type ReportSection,
  type ReportTable,
} from '@bftx/viz';
import { byzantineAssignment, PROTOCOLS, splitBrainCoalition, UsageError, type ProtocolName, type StrategySpec } from './options';

export interface Settings {
  readonly protocol: ProtocolName;
  readonly nodes: number;
  readonly byzantine: readonly StrategySpec[];
  readonly seed: number;
  readonly views: number;
  readonly delta: number;
  readonly signatures: 'simulated' | 'ed25519';
  /** Virtual ms shown by the view timeline and the message sequence (default: the first views). */
  readonly window?: { readonly from: number; readonly to: number };
}

/** Reports how far a run has got (the CLI draws a progress bar from it). */
export interface Progress {
  start(total: number, label: string): void;
  update(done: number): void;
  stop(): void;
}

export interface Outcome {
  readonly title: string;
  /** Undefined when every promise held; otherwise what failed (the CLI exits 1). */
  readonly failure: string | undefined;
  readonly table: ReadonlyArray<readonly [string, string | number]>;
  readonly summary: Record<string, unknown>;
  readonly sections: readonly ReportSection[];
  /** Records for trace.jsonl. */
  readonly trace: readonly object[];
  /** One line printed after the outputs: what to run next. */
  readonly next?: string;
}

/** Every trace kind but 'deliver': a send record already carries its arrival time. */
const TRACE_KINDS = ['send', 'drop', 'timer', 'view', 'propose', 'vote', 'certify', 'finalize', 'evidence'];
const STEPS = 100;
const fmt = (x: number) => x.toLocaleString('en-US');
const describe = (b: ReadonlyArray<{ replica: number; strategy: Strategy }>) => (b.length ? b.map((x) => `r${x.replica}: ${x.strategy.kind}${x.strategy.kind === 'crash' ? ` at ${x.strategy.at} ms` : x.strategy.kind === 'delay' ? ` by ${x.strategy.by} ms` : ''}`).join(', ') : 'none');

/** One consensus-only run, stepped so progress can be shown. */
function runConsensus(s: Settings, protocol: ProtocolName, n: number, byzantine: ReadonlyArray<{ replica: number; strategy: Strategy }>, progress: Progress | undefined, trace = true): { result: SimulationResult; wallMs: number } {
  const duration = s.views * 2 * s.delta;
  const t0 = performance.now();
  const run = startSimulation({
    protocol: PROTOCOLS[protocol](),
    n,
    seed: s.seed,
    network: synchronous(s.delta),
    timing: { delta: s.delta },
    duration,
    signatures: s.signatures,
    byzantine,
    transactions: { every: s.delta, perBatch: 5 },
    trace,
    traceKinds: TRACE_KINDS,
  });
  progress?.start(STEPS, `${protocol} n=${n}`);
  for (let k = 1; k <= STEPS; k++) {
    run.runUntil(Math.floor((duration * k) / STEPS));
    progress?.update(k);
  }
  progress?.stop();
  return { result: run.result(), wallMs: performance.now() - t0 };
}

function consensusCharts(run: ConsensusRun, latency: readonly number[], prefix: string, window: Settings['window']): ReportChart[] {
  const facts = readTrace(run);
  const w = window ? { window } : {};
  return [
    { id: `${prefix}-block-tree`, option: blockTreeChart(run, {}, facts), height: 70 + 150 * run.n, caption: 'Each panel is one replica\'s view: a block at (view, height) with an edge to its parent. Green finalized, blue certified, grey proposed, orange orphaned; the label is the proposer; diamonds were proposed by a Byzantine replica. Scroll the report\'s other charts for the whole run.' },
    { id: `${prefix}-view-timeline`, option: viewTimelineChart(run, w, facts), height: 150 + 45 * run.n, caption: 'Time runs across; each shaded band is a view, labelled with its leader. Drag the slider or scroll to zoom.' },
    { id: `${prefix}-message-sequence`, option: messageSequenceChart(run, w, facts), height: 150 + 45 * run.n, caption: 'Every message sent in the window (the first views unless --window says otherwise): an arrow from sender (at send time) to receiver (at arrival). Click a kind in the legend to hide it.' },
    { id: `${prefix}-latency`, option: latencyChart(latency), caption: 'Time from a block\'s proposal to its finalization, over every honest replica and block: histogram and CDF.' },
    { id: `${prefix}-throughput`, option: throughputChart(run, {}, facts), caption: 'Finalized transactions and blocks per second of virtual time, at the first honest replica.' },
  ];
}

function consensusTable(s: Settings, protocol: ProtocolName, n: number, byzantine: ReadonlyArray<{ replica: number; strategy: Strategy }>, r: SimulationResult, wallMs: number): Array<[string, string | number]> {
  const blocks = Math.max(1, r.honestFinalizedHeight);
  const honest = r.replicas.filter((x) => x.honest);
  return [
    ['protocol', protocol],
    ['replicas (n) / tolerated (f)', `${n} / ${Math.floor((n - 1) / 3)}`],
    ['Byzantine replicas', describe(byzantine)],
    ['signatures', s.signatures === 'ed25519' ? 'Ed25519 (real)' : 'simulated (unforgeable inside the simulator)'],
    ['virtual time', `${fmt(s.views * 2 * s.delta)} ms (${s.views} views of 2 x delta = ${s.delta} ms)`],
    ['safety', r.verdict === 'safe' ? 'safe: no two honest replicas finalized different blocks at one height' : r.verdict],
    ['finalized height (lowest honest)', r.honestFinalizedHeight],
    ['blocks proposed', r.replicas.reduce((a, x) => a + x.proposed, 0)],
    ['transactions finalized (lowest honest)', Math.min(...honest.map((x) => x.transactions))],
    ['finalization latency p50 / p99', `${r.latency.ms.p50} / ${r.latency.ms.p99} ms`],
    ['messages / per finalized block', `${fmt(r.messages)} / ${fmt(Math.round(r.messages / blocks))}`],
    ['offenders proven by evidence', r.offenders.length ? r.offenders.map((o) => `r${o}`).join(', ') : 'none'],
    ['wall time', `${(wallMs / 1000).toFixed(2)} s`],
  ];
}

function consensusSummary(s: Settings, protocol: ProtocolName, n: number, byzantine: ReadonlyArray<{ replica: number; strategy: Strategy }>, r: SimulationResult, wallMs: number) {
  return {
    protocol,
    n,
    seed: s.seed,
    delta_ms: s.delta,
    views: s.views,
    signatures: s.signatures,
    byzantine,
    verdict: r.verdict,
    honest_finalized_height: r.honestFinalizedHeight,
    latency_ms: r.latency.ms,
    messages: r.messages,
    bytes: r.bytes,
    messages_by_kind: r.messagesByKind,
    offenders: r.offenders,
    replicas: r.replicas.map(({ instance, validator, honest, finalized, proposed, certified, transactions, duplicateTransactions }) => ({ instance, validator, honest, finalized, proposed, certified, transactions, duplicateTransactions })),
    wall_ms: Math.round(wallMs),
  };
}

/** Byzantine replicas that ran and were not caught, with why that is expected for their strategy. */
function undetected(byzantine: ReadonlyArray<{ replica: number; strategy: Strategy }>, offenders: readonly number[]): string[] {
  const signs = new Set(['equivocate', 'double-vote', 'vote-twice']);
  return byzantine.filter((b) => !offenders.includes(b.replica)).map((b) => `r${b.replica} (${b.strategy.kind}): ${signs.has(b.strategy.kind) ? 'its conflicting statements did not reach one honest replica in this run' : 'leaves no signed proof: to others it looks like a slow or lossy network, so it is tolerated, not convicted'}`);
}

export function basicScenario(s: Settings, progress?: Progress): Outcome {
  if (s.byzantine.length) throw new UsageError('`basic` runs honest replicas only; use `byzantine` to add Byzantine ones.');
  const { result, wallMs } = runConsensus(s, s.protocol, s.nodes, [], progress);
  const run: ConsensusRun = { protocol: s.protocol, n: s.nodes, byzantine: [], trace: result.trace };
  return {
    title: `Basic consensus: ${s.protocol}, ${s.nodes} honest replicas`,
    failure: result.verdict === 'safe' ? (result.honestFinalizedHeight === 0 ? 'no block was finalized' : undefined) : result.verdict,
    table: consensusTable(s, s.protocol, s.nodes, [], result, wallMs),
    summary: { scenario: 'basic', ...consensusSummary(s, s.protocol, s.nodes, [], result, wallMs) },
    sections: [{ title: 'Consensus', text: `${s.nodes} honest replicas run ${s.protocol} on a synchronous network (every message within delta = ${s.delta} ms) and order client transactions.`, charts: consensusCharts(run, result.latency.samplesMs, 'basic', s.window) }],
    trace: result.trace,
  };
}

export function byzantineScenario(s: Settings, progress?: Progress): Outcome {
  const specs = s.byzantine.length ? s.byzantine : [{ kind: 'equivocate' as const }];
  const coalition = splitBrainCoalition(specs, s.nodes);
  if (coalition !== undefined) return splitBrainScenario(s, coalition, progress);
  const byzantine = byzantineAssignment(specs, s.nodes, s.views * 2 * s.delta, s.delta);
  const { result, wallMs } = runConsensus(s, s.protocol, s.nodes, byzantine, progress);
  const run: ConsensusRun = { protocol: s.protocol, n: s.nodes, byzantine: byzantine.map((b) => b.replica), trace: result.trace };
  const missed = undetected(byzantine, result.offenders);
  return {
    title: `Byzantine replicas: ${s.protocol}, ${s.nodes} replicas, ${describe(byzantine)}`,
    failure: result.verdict === 'safe' ? (result.honestFinalizedHeight === 0 ? 'no block was finalized' : undefined) : result.verdict,
    table: [...consensusTable(s, s.protocol, s.nodes, byzantine, result, wallMs), ...missed.map((m) => ['not convicted', m] as [string, string])],
    summary: { scenario: 'byzantine', ...consensusSummary(s, s.protocol, s.nodes, byzantine, result, wallMs), undetected: missed, evidence: result.evidence.map((e) => ({ offender: e.offender })) },
    sections: [
      { title: 'Consensus under attack', text: `Byzantine: ${describe(byzantine)}. Honest replicas must never finalize conflicting blocks; an offender is reported only with signed evidence that any third party can check.`, charts: consensusCharts(run, result.latency.samplesMs, 'byzantine', s.window) },
      ...(result.evidence.length ? [{ title: 'Evidence', text: 'What convicts each offender: the statements it signed, each checkable with its public key alone.', tables: [evidenceTable(result.evidence)] }] : []),
    ],
    trace: result.trace,
  };
}

/**
 * Beyond f: the coalition runs the split-brain attack (sim.splitBrain). Whether it forks is the
 * lower bound's arithmetic (two quorums share 2 * quorum - n validators); when it does, forensics
 * from one honest transcript of each side convicts the coalition with the statements it signed.
 */
function splitBrainScenario(s: Settings, coalition: readonly number[], progress?: Progress): Outcome {
  const n = s.nodes;
  const definition = PROTOCOLS[s.protocol]();
  const duration = s.views * 2 * s.delta;
  const plan = splitBrain({ protocol: definition, n, coalition, seed: s.seed, delta: s.delta, duration });
  const t0 = performance.now();
  const sim = startSimulation({ ...plan.config, signatures: s.signatures, trace: true, traceKinds: TRACE_KINDS });
  progress?.start(STEPS, `${s.protocol} n=${n}, ${coalition.length} colluding`);
  for (let k = 1; k <= STEPS; k++) {
    sim.runUntil(Math.floor((duration * k) / STEPS));
    progress?.update(k);
  }
  progress?.stop();
  const result = sim.result();
  const wallMs = performance.now() - t0;
  const { validators, scheme } = result.keys;
  const q = validators.quorum;
  const { forkNeeds } = result.coalition;
  const transcripts = result.replicas.flatMap((r) => (r.transcript === undefined ? [] : [r.transcript]));
  // One transcript from each side: what the fork proof needs (one alone holds one side's certificates).
  const sides = plan.honest.map((side) => transcripts.find((t) => side.includes(t.replica))!);
  const report = investigate(definition, validators, scheme, sides);
  const check = report.proof === undefined ? undefined : verifyForkProof(definition, validators, scheme, report.proof);
  const forked = result.safetyViolation !== undefined;
  const quorumIn = plan.honest.map((side) => side.length + coalition.length >= q);
  const names = (vs: readonly number[]) => vs.map((v) => `r${v}`).join(', ');
  const world = (k: number) => `{${names(plan.honest[k]!)}} + coalition: ${plan.honest[k]!.length + coalition.length} of quorum ${q}${quorumIn[k] ? '' : ' (stalls)'}`;
  const failure = forked
    ? check?.ok === true
      ? undefined
      : `a fork, but no fork proof convicting f+1 = ${validators.oneHonest}: ${check?.ok === false ? check.reason : `${report.culprits.length} culprit(s) found`}`
    : quorumIn.every((x) => x)
      ? 'both sides held a quorum, but no fork: the attack did not work as the bound predicts'
      : undefined;
  const fork = report.fork;
  const table: Array<[string, string | number]> = [
    ['protocol', s.protocol],
    ['replicas (n) / tolerated (f)', `${n} / ${validators.f}`],
    ['colluding replicas', `${names(coalition)}: ${coalition.length}, beyond f = ${validators.f}`],
    ['attack', 'split brain: every colluder runs twice (one key), one instance with each half of the honest replicas, which do not hear each other; the coalition leads every view'],
    ['side 1', world(0)],
    ['side 2', world(1)],
    ['what a fork needs', `two quorums of ${q} share ${forkNeeds} validators: ${forkNeeds} colluding (${coalition.length >= forkNeeds ? 'they are enough' : `${coalition.length} are not: safety holds here beyond f`})`],
    ['safety', forked ? `FORK, as the bound predicts: ${result.safetyViolation}` : 'safe: no two honest replicas finalized different blocks'],
    ...(fork !== undefined ? [['the fork', `height ${fork.first.height}: ${toHex(fork.first.blockHash).slice(0, 12)} (side 1) vs ${toHex(fork.second.blockHash).slice(0, 12)} (side 2), each with a commit certificate`] as [string, string]] : []),
    ['convicted (forensics)', report.culprits.length ? `${names(report.culprits.map((e) => e.offender))}: each signed two blocks for one slot` : 'nobody'],
    ['fork proof', check === undefined ? (forked ? 'none' : 'no fork to prove') : check.ok ? `verifies with the validator keys alone: ${check.convicted.length} culprits >= f+1 = ${validators.oneHonest}` : `does not verify: ${check.reason}`],
    ['transcripts used', `${sides.length}: one honest replica from each side (r${sides.map((t) => t.replica).join(', r')})${forked ? '; either one alone shows no fork' : ''}`],
    ['finalized height (lowest honest)', result.honestFinalizedHeight],
    ['wall time', `${(wallMs / 1000).toFixed(2)} s`],
  ];
  const run: ConsensusRun = { protocol: s.protocol, n, byzantine: [...coalition], trace: result.trace };
  return {
    title: `Beyond f: ${coalition.length} colluding of ${n} (f = ${validators.f}), ${s.protocol}, split brain`,
    failure,
    table,
    summary: {
      scenario: 'byzantine',
      attack: 'split-brain',
      protocol: s.protocol,
      n,
      f: validators.f,
      quorum: q,
      seed: s.seed,
      delta_ms: s.delta,
      views: s.views,
      signatures: s.signatures,
      coalition,
      sides: plan.honest,
      fork_needs: forkNeeds,
      forked,
      verdict: result.verdict,
      fork: fork === undefined ? null : { height: fork.first.height, blocks: [toHex(fork.first.blockHash), toHex(fork.second.blockHash)] },
      convicted: report.culprits.map((e) => e.offender),
      proof_verifies: check?.ok === true,
      transcripts_used: sides.map((t) => t.replica),
      honest_finalized_height: result.honestFinalizedHeight,
      wall_ms: Math.round(wallMs),
    },
    sections: [
      {
        title: 'Beyond f: the split brain',
        text: `${coalition.length} colluding replicas (${names(coalition)}; f = ${validators.f}) each run twice with one key, one instance beside each half of the honest replicas; the halves do not hear each other and get different client transactions. Each side certifies blocks with its own honest replicas and the coalition's votes. A side with a quorum (${q}) finalizes; when both have one, honest replicas finalize different blocks: the fork f < n/3 rules out. In the block trees a replica's panel holds every instance of it, so a colluder's panel shows both branches; diamonds are blocks the coalition proposed.`,
        charts: [
          ...(forked
            ? [
                {
                  id: 'split-brain-fork',
                  option: forkChart({ protocol: s.protocol, convicted: report.culprits.map((e) => e.offender), sides: [0, 1].map((k) => ({ label: `side ${k + 1} {${names(plan.honest[k]!)}}`, chain: result.replicas.find((r) => r.validator === sides[k]!.replica && r.honest)!.ledger })) as [ForkSide, ForkSide] }),
                  height: 320,
                  caption: 'Both branches of the fork: the common prefix in the middle, each side\'s finalized chain in its own lane from the first height where they differ. The convicted colluders are named above; their two signed statements are in the table below.',
                },
              ]
            : []),
          ...consensusCharts(run, result.latency.samplesMs, 'split-brain', s.window),
        ],
      },
      ...(report.culprits.length
        ? [{ title: 'Forensics: who broke safety', text: `From two transcripts (the messages r${sides.map((t) => t.replica).join(' and r')} received, and the commit certificates they output): ${fork !== undefined ? `two certificates for different blocks at height ${fork.first.height}, and ` : ''}each culprit's two signed statements for one slot and two blocks. Two quorums share at least f+1 validators, so a fork convicts at least f+1; the proof checks with the validator keys alone (verifyForkProof in @bftx/consensus).`, tables: [evidenceTable(report.culprits)] }]
        : []),
    ],
    trace: result.trace,
    next: forked ? undefined : `Try \`npm run demo -- byzantine -p ${s.protocol} -n ${n} --byzantine ${forkNeeds}\`: ${forkNeeds} colluding replicas are enough to fork ${n}.`,
  };
}

export interface CompareSettings extends Settings {
  readonly sizes: readonly number[];
}

function comparisonRows(s: CompareSettings, progress: Progress | undefined): { rows: Array<ComparisonRow & { finalized: number; messages: number; latencyP99: number; wallMs: number }>; traces: object[] } {
  const rows = [];
  const traces: object[] = [];
  for (const n of s.sizes) {
    for (const protocol of Object.keys(PROTOCOLS) as ProtocolName[]) {
      const { result, wallMs } = runConsensus(s, protocol, n, [], progress, true);
      const blocks = Math.max(1, result.honestFinalizedHeight);
      rows.push({ protocol, n, latencyP50: result.latency.ms.p50, latencyP99: result.latency.ms.p99, messagesPerBlock: Math.round(result.messages / blocks), finalized: result.honestFinalizedHeight, messages: result.messages, wallMs });
      // The decisions only: a full trace of every run would dwarf everything else.
      for (const r of result.trace) if (r.ev === 'propose' || (r.ev === 'finalize' && r['instance'] !== undefined)) traces.push({ protocol, n, ...r });
    }
  }
  return { rows, traces };
}

export function compareScenario(s: CompareSettings, progress?: Progress): Outcome {
  if (s.byzantine.length) throw new UsageError('`compare` runs honest replicas only (every protocol at every size); use `byzantine` for attacks.');
  const { rows, traces } = comparisonRows(s, progress);
  const stalled = rows.filter((r) => r.finalized === 0).map((r) => `${r.protocol} n=${r.n}`);
  return {
    title: `Protocols compared: ${Object.keys(PROTOCOLS).join(', ')} at n = ${s.sizes.join(', ')}`,
    failure: stalled.length ? `no block finalized in: ${stalled.join(', ')}` : undefined,
    table: rows.map((r) => [`${r.protocol} n=${r.n}`, `${r.finalized} blocks, latency p50 ${r.latencyP50} ms, ${fmt(r.messagesPerBlock)} msgs/block`] as const),
    summary: { scenario: 'compare', seed: s.seed, delta_ms: s.delta, views: s.views, signatures: s.signatures, runs: rows.map((r) => ({ ...r, wallMs: Math.round(r.wallMs) })) },
    sections: [
      {
        title: 'Protocols compared',
        text: `Each protocol, honest replicas, one synchronous network (delta = ${s.delta} ms), ${s.views} views of virtual time, 5 transactions every ${s.delta} ms, ${s.signatures} signatures.`,
        tables: [{ head: ['protocol', 'n', 'finalized blocks', 'latency p50 (ms)', 'latency p99 (ms)', 'messages', 'messages per block'], rows: rows.map((r) => [r.protocol, r.n, r.finalized, r.latencyP50, r.latencyP99, fmt(r.messages), fmt(r.messagesPerBlock)]) }],
        charts: [{ id: 'compare-protocols', option: comparisonChart(rows), height: 460, caption: 'Median finalization latency and messages per finalized block against the number of replicas, on log scales: a slope of 1 on the right is linear in n, 2 quadratic.' }],
      },
    ],
    trace: traces,
  };
}

function marketCharts(result: MarketResult, prefix: string, clock: 'hh:mm' | 'ms', candleMs: number): ReportChart[] {
  const book = [...result.snapshots].reverse().find((x) => x.l2.bids.length > 0 && x.l2.asks.length > 0);
  return [
    { id: `${prefix}-candles`, option: candlesChart(result.trades, { intervalMs: candleMs, clock }), height: 460, caption: 'Trades as candles (open, high, low, close per interval) and volume.' },
    { id: `${prefix}-depth`, option: depthChart(book?.l2 ?? { bids: [], asks: [] }, { title: `Order book depth${book ? ` at ${clock === 'hh:mm' ? new Date(book.time).toISOString().slice(11, 19) : `${book.time} ms`}` : ''} (cumulative size by price)` }), caption: 'The last published book with both sides: cumulative resting size from the best price outwards.' },
    { id: `${prefix}-pnl`, option: pnlChart(result.agents), height: Math.min(900, 120 + 22 * Math.min(result.agents.length, 40)), caption: 'Each agent\'s profit at the close, marked to the last mid.' },
  ];
}

export function exchangeScenario(s: Settings, progress?: Progress): Outcome {
  const duration = s.views * 2 * s.delta;
  const specs = s.byzantine.length ? s.byzantine : [{ kind: 'vote-twice' as const }];
  const byzantine = byzantineAssignment(specs, s.nodes, duration, s.delta);
  const t0 = performance.now();
  progress?.start(duration, `${s.protocol} exchange`);
  const report = distributedExchange({
    protocol: PROTOCOLS[s.protocol](),
    clientScheme: createSignatureScheme(),
    seed: s.seed,
    n: s.nodes,
    duration,
    delta: s.delta,
    byzantine: byzantine.map((b) => b.strategy),
    signatures: s.signatures,
    trace: TRACE_KINDS,
    progress: (t) => progress?.update(t),
  });
  progress?.stop();
  const wallMs = performance.now() - t0;
  const rep = report.result.replication!;
  const sim = rep.simulation;
  const run: ConsensusRun = { protocol: s.protocol, n: s.nodes, byzantine: report.byzantineReplicas, trace: sim.trace };
  const rejectedAtExecution = Object.entries(report.orders.rejectedAtExecution).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const missed = undetected(byzantine, report.offenders.map((o) => o.validator));
  const failure = !rep.stateRootsAgree ? 'honest replicas disagree on the exchange state root' : sim.verdict !== 'safe' ? sim.verdict : rep.finalizedHeight === 0 ? 'no block was finalized' : undefined;
  const comparison = compareForExchange(s);
  return {
    title: `Distributed exchange: ${s.protocol}, ${s.nodes} replicas, ${describe(byzantine)}, a rogue client forging orders`,
    failure,
    next: 'Next: `npm run demo -- fairness`: a Byzantine leader front-runs and sandwiches a victim\'s orders; the value it extracts under leader order, leader-proof ordering and uniform-price batches.',
    table: [
      ['protocol / replicas', `${s.protocol} / ${s.nodes} (tolerates f = ${Math.floor((s.nodes - 1) / 3)})`],
      ['Byzantine replicas', describe(byzantine)],
      ['signatures', `client orders Ed25519; consensus ${s.signatures === 'ed25519' ? 'Ed25519' : 'simulated'}`],
      ['session (virtual)', `${fmt(duration)} ms, delta ${s.delta} ms`],
      ['orders sent by agents', report.orders.submitted],
      ['forged orders sent', report.orders.forgedSubmitted],
      ['rejected at the mempool (bad signature)', report.orders.rejectedAtMempool.BAD_SIGNATURE],
      ['admitted', report.orders.admitted],
      ['executed in finalized blocks', report.orders.executed],
      ['rejected at execution', rejectedAtExecution],
      ['pending at the close', report.orders.pendingAtClose],
      ['trades', report.trades],
      ['finalized height (lowest honest)', rep.finalizedHeight],
      ['state roots of honest replicas', rep.stateRootsAgree ? 'equal at every height' : 'DIFFER'],
      ['safety', sim.verdict],
      ['offenders (with evidence)', report.offenders.length ? report.offenders.map((o) => `r${o.validator} (${o.evidence})`).join(', ') : 'none'],
      ...missed.map((m) => ['not convicted', m] as [string, string]),
      ['finalization latency p50 / p99', `${sim.latency.ms.p50} / ${sim.latency.ms.p99} ms`],
      ['wall time', `${(wallMs / 1000).toFixed(2)} s`],
    ],
    summary: {
      scenario: 'exchange',
      protocol: s.protocol,
      n: s.nodes,
      seed: s.seed,
      delta_ms: s.delta,
      duration_ms: duration,
      signatures: { clients: 'ed25519', consensus: s.signatures },
      byzantine,
      orders: report.orders,
      trades: report.trades,
      offenders: report.offenders,
      undetected: missed,
      finalized_height: rep.finalizedHeight,
      state_roots_agree: rep.stateRootsAgree,
      verdict: sim.verdict,
      latency_ms: sim.latency.ms,
      messages: sim.messages,
      stylised_facts: report.result.facts,
      agents: report.result.agents.map((a) => ({ ...a, cash: a.cash.toString() })),
      protocol_comparison: comparison.rows,
      wall_ms: Math.round(wallMs),
    },
    sections: [
      {
        title: 'Orders',
        text: 'Every order is signed by its client with Ed25519. Each replica verifies signatures before admitting an order to its mempool, and executes only what consensus finalized, in finalized order. A forged order is one for a victim\'s account signed with another key.',
        tables: [{ head: ['what', 'count'], rows: [['sent by agents', report.orders.submitted], ['forged, sent by a rogue client', report.orders.forgedSubmitted], ['rejected at the mempool: bad signature', report.orders.rejectedAtMempool.BAD_SIGNATURE], ['rejected at the mempool: malformed', report.orders.rejectedAtMempool.MALFORMED], ['refused at the mempool: cannot execute now (stale nonce, unknown account, funds)', report.orders.rejectedAtMempool.STALE_NONCE + report.orders.rejectedAtMempool.UNKNOWN_ACCOUNT + report.orders.rejectedAtMempool.UNKNOWN_SYMBOL + report.orders.rejectedAtMempool.INSUFFICIENT_FUNDS], ['refused at the mempool: over the account rate', report.orders.rejectedAtMempool.RATE_LIMITED], ['admitted', report.orders.admitted], ['executed', report.orders.executed], ['rejected at execution', rejectedAtExecution], ['pending at the close', report.orders.pendingAtClose], ['trades', report.trades]] }],
      },
      { title: 'Consensus', text: `${s.nodes} replicas run ${s.protocol}; Byzantine: ${describe(byzantine)}. Offenders: ${report.offenders.length ? report.offenders.map((o) => `r${o.validator}, proven by ${o.evidence} evidence`).join('; ') : 'none proven'}. Honest replicas' exchange state roots are ${rep.stateRootsAgree ? 'equal at every height' : 'NOT equal'}.`, charts: consensusCharts(run, sim.latency.samplesMs, 'exchange', s.window) },
      ...(sim.evidence.length ? [{ title: 'Evidence', text: 'What convicts each offender: the two statements it signed for one slot, for two different blocks, each checkable with its public key alone.', tables: [evidenceTable(sim.evidence)] }] : []),
      { title: 'Market', text: `One market maker and ${report.result.agents.length - 1} random traders.`, charts: marketCharts(report.result, 'exchange', 'ms', Math.max(100, Math.round(duration / 60 / 100) * 100)) },
      comparison.section,
    ],
    trace: sim.trace,
  };
}

/** A small consensus-only comparison for the exchange report, so the default report shows it too. */
function compareForExchange(s: Settings): { rows: ComparisonRow[]; section: ReportSection } {
  const sizes = [4, 7, 10];
  const cs: CompareSettings = { ...s, sizes, views: 60, signatures: 'simulated', byzantine: [] };
  const { rows } = comparisonRows(cs, undefined);
  return {
    rows,
    section: {
      title: 'The three protocols side by side',
      text: `Consensus alone (no exchange), honest replicas, delta = ${s.delta} ms, 60 views each, simulated signatures, n = ${sizes.join(', ')}. \`bftx-demo compare\` runs more sizes.`,
      charts: [{ id: 'exchange-compare', option: comparisonChart(rows), height: 460 }],
    },
  };
}

export interface MarketSettings extends Settings {
  readonly venue: 'direct' | 'replicated';
  readonly minutes: number;
  readonly scale: number;
}

export function marketScenario(s: MarketSettings, progress?: Progress): Outcome {
  const delta = s.venue === 'replicated' ? s.delta : 0;
  const byzantine = s.venue === 'replicated' ? byzantineAssignment(s.byzantine, s.nodes, s.minutes * 60_000, delta) : [];
  if (s.venue === 'direct' && s.byzantine.length) throw new UsageError('a direct market has no replicas to be Byzantine; add --venue replicated.');
  const base = rmsc04Session(s.seed, undefined, s.scale);
  const close = base.open + s.minutes * 60_000;
  const t0 = performance.now();
  progress?.start(close - base.open, `RMSC04 ${s.venue}`);
  const result = runMarket({
    ...base,
    close,
    progress: (t) => progress?.update(t - base.open),
    ...(s.venue === 'replicated'
      ? { venue: simulatedCluster({ protocol: PROTOCOLS[s.protocol](), n: s.nodes, delta, clientScheme: createSignatureScheme(), signatures: s.signatures, byzantine, trace: TRACE_KINDS.filter((k) => k !== 'send' && k !== 'timer') }) }
      : {}),
  });
  progress?.stop();
  const wallMs = performance.now() - t0;
  const rep = result.replication;
  const rejected = Object.entries(result.orders.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const sections: ReportSection[] = [{ title: 'Market', text: `ABIDES RMSC04-like population (2 market makers, 102 value, 12 momentum, 1,000 noise agents, scaled by ${s.scale}), ${s.minutes} minutes from 09:30, ${s.venue === 'direct' ? 'straight on one exchange' : `through ${s.nodes} ${s.protocol} replicas`}.`, charts: marketCharts(result, 'market', 'hh:mm', 60_000) }];
  if (rep) {
    const run: ConsensusRun = { protocol: s.protocol, n: s.nodes, byzantine: byzantine.map((b) => b.replica), trace: rep.simulation.trace };
    const facts = readTrace(run);
    sections.push({ title: 'Consensus under the market', charts: [{ id: 'market-latency', option: latencyChart(rep.simulation.latency.samplesMs) }, { id: 'market-throughput', option: throughputChart(run, {}, facts) }] });
  }
  return {
    title: `Market: RMSC04 x${s.scale}, ${s.minutes} min, ${s.venue === 'direct' ? 'one exchange' : `${s.protocol} x ${s.nodes}`}`,
    failure: rep && !rep.stateRootsAgree ? 'honest replicas disagree on the exchange state root' : rep && rep.simulation.verdict !== 'safe' ? rep.simulation.verdict : undefined,
    table: [
      ['venue', s.venue === 'direct' ? 'one exchange (no consensus)' : `${s.protocol}, ${s.nodes} replicas, delta ${delta} ms, ${describe(byzantine)} Byzantine`],
      ['agents', result.agents.length],
      ['session', `${s.minutes} min from 09:30`],
      ['orders sent / executed', `${fmt(result.orders.submitted)} / ${fmt(result.orders.executed)}`],
      ['rejected', rejected],
      ['trades', fmt(result.trades.length)],
      ['excess kurtosis of 1-min returns', result.facts.excessKurtosis.oneMinute.toFixed(2)],
      ['autocorrelation of returns (lag 1)', result.facts.returnAutocorrelationLag1.toFixed(2)],
      ...(rep ? [['finalized height', rep.finalizedHeight], ['state roots of honest replicas', rep.stateRootsAgree ? 'equal at every height' : 'DIFFER']] as Array<[string, string | number]> : []),
      ['wall time', `${(wallMs / 1000).toFixed(2)} s`],
    ],
    summary: {
      scenario: 'market',
      venue: s.venue,
      seed: s.seed,
      minutes: s.minutes,
      scale: s.scale,
      orders: result.orders,
      trades: result.trades.length,
      stylised_facts: result.facts,
      ...(rep ? { protocol: s.protocol, n: s.nodes, delta_ms: delta, finalized_height: rep.finalizedHeight, state_roots_agree: rep.stateRootsAgree, mempool: rep.mempool, offenders: rep.offenders } : {}),
      wall_ms: Math.round(wallMs),
    },
    sections,
    trace: rep ? rep.simulation.trace : result.trades.map((t) => ({ t: t.time, ev: 'trade', ...t })),
  };
}

/**
 * The evidence itself: each statement an offender signed that convicts it (for an equivocation, the
 * two that conflict: one slot, two blocks), as the report shows it. Anyone holding the validator
 * keys can check them (`verifyEvidence` in @bftx/consensus); the trace has them whole.
 */
export function evidenceTable(evidence: readonly Evidence[]): ReportTable {
  const row = (e: Evidence, which: string, s: SignedStatement) => [`r${e.offender}`, e.kind, which, s.domain, s.view, s.sequence, `${toHex(s.blockHash).slice(0, 16)}…`, `${toHex(s.signature).slice(0, 16)}…`];
  return {
    head: ['offender', 'evidence', 'statement', 'domain', 'view', 'sequence', 'block hash', 'signature'],
    rows: evidence.flatMap((e) => (e.kind === 'equivocation' ? [row(e, 'first', e.first), row(e, 'second', e.second)] : [row(e, `backs block ${e.header.height}, which its logs do not`, e.statement)])),
  };
}

export type { TraceRecord };
