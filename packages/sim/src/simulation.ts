import {
  ConsensusError,
  drive,
  newDriven,
  Ledger,
  SimulatedSignatureScheme,
  StatementVerifier,
  ValidatorSet,
  txKey,
  verifyEvidence,
  type Block,
  type Driven,
  type Evidence,
  type Protocol,
  type ProtocolDefinition,
  type ProtocolFootprint,
  type ProtocolInput,
  type Timing,
  payloadTransactions,
  headersDown,
  type BlockHeader,
  type CommitCertificate,
  type Transcript,
} from '@bftx/consensus';
import { bytesEqual, createSignatureScheme, toHex, type SignatureScheme, type Signer } from '@bftx/crypto';
import { byzantine, type AdversarialOutput, type Coalition, type ReplicaLike, type Strategy } from './adversary';
import type { MessageTraits, NetworkModel } from './network';
import { EventQueue } from './queue';
import { Rng } from './rng';

export interface SimulationConfig<M> {
  readonly protocol: ProtocolDefinition<M>;
  readonly n: number;
  readonly seed: number;
  readonly network: NetworkModel;
  readonly timing: Timing;
  /** Virtual milliseconds to run. */
  readonly duration: number;
  /** Byzantine replicas and how they misbehave. */
  readonly byzantine?: ReadonlyArray<{ readonly replica: number; readonly strategy: Strategy }>;
  /**
   * Validators that run as two instances with the same key (both count as Byzantine). The network
   * addresses instances: validator v is endpoint v, and the twin of twins[k] is endpoint n + k, so
   * partitions can separate a twin from its sibling.
   */
  readonly twins?: readonly number[];
  /** Who leads each view (passed to every replica; the protocol's own rule beyond it). */
  readonly leaderSchedule?: readonly number[];
  /** Most transactions per block (the protocol's default if absent). */
  readonly maxBlockTxs?: number;
  /** "simulated" (fast, default) or real "ed25519". */
  readonly signatures?: 'simulated' | 'ed25519';
  /** Client transactions offered to every replica: `perBatch` every `every` ms. */
  readonly transactions?: { readonly every: number; readonly perBatch: number; readonly size?: number };
  /**
   * Given transactions offered at given times: to every replica, to the instances of the `to`
   * validators, or to the `endpoints` (instance indexes: validator v is v, the twin of twins[k] is
   * n + k), which can tell a twin from its sibling.
   */
  readonly workload?: ReadonlyArray<{ readonly at: number; readonly txs: readonly Uint8Array[]; readonly to?: readonly number[]; readonly endpoints?: readonly number[] }>;
  /** Keep each honest replica's transcript: every message it received (encoded) and every commit certificate it output (`replicas[i].transcript`), for forensics. */
  readonly transcripts?: boolean;
  /** Encode and decode every message on the way (checks the wire format; slower). */
  readonly wireCheck?: boolean;
  /**
   * Check every commit certificate an honest replica outputs with the protocol's `verifyCommit`
   * (against the run's validator set): it must verify and name the last block of its commit. The
   * first failure per replica is in `replicas[i].certificates.failed`. Counting is always on.
   */
  readonly checkCertificates?: boolean;
  /** Record a trace (default true); `traceKinds` keeps only those record kinds (e.g. ['propose', 'finalize']). */
  readonly trace?: boolean;
  readonly traceKinds?: readonly string[];
  /**
   * Crash-restarts: validator `replica` (its first instance) crashes at `at` and comes back
   * `downFor` ms later as a new instance of the protocol created from the last `persist` output
   * it carried out (its ledger, the runtime's, is kept). With `prefix`, the crash happens while
   * carrying out the first step it handles at or after `at`, at one of the points a real runtime
   * has (see `drive`): prefix 0, before anything of that step is durable (the step is lost);
   * prefix k >= 1, after its durable part (safety state, finalized blocks, evidence) is written
   * and its first k - 1 actions are carried out. While it is down, messages and transactions to
   * it are lost, and so are messages sent to it before the crash that had not arrived; its timers
   * are gone.
   */
  readonly restarts?: ReadonlyArray<Restart>;
  /**
   * Most events handled at one virtual instant (default 50,000). A responsive protocol on a
   * network with zero delay makes unbounded progress without time passing; the run then stops
   * at that instant (`stoppedAt`) instead of never ending.
   */
  readonly maxEventsPerInstant?: number;
}

export interface Restart {
  readonly replica: number;
  readonly at: number;
  readonly downFor: number;
  readonly prefix?: number;
}

export type TraceRecord = { readonly t: number } & Record<string, unknown>;

export interface ReplicaReport {
  readonly instance: number;
  readonly validator: number;
  readonly honest: boolean;
  /** Finalized block ids, height 1 first. */
  readonly ledger: readonly string[];
  /** Virtual time at which each height was finalized here. */
  readonly commitTimes: readonly number[];
  readonly persisted: number;
  /** Blocks this replica proposed, and blocks it saw notarized (certified), by its own trace. */
  readonly proposed: number;
  readonly certified: number;
  /** Finalized height (the ledger's length). */
  readonly finalized: number;
  /** Transactions in its finalized blocks, and how many of those were already final earlier in the ledger. */
  readonly transactions: number;
  readonly duplicateTransactions: number;
  /** Crash-restarts it went through. */
  readonly restarts: number;
  /** Largest persisted safety state it produced, in bytes. */
  readonly maxPersistedBytes: number;
  /** Its protocol instance's footprint at the end of the run (when the protocol reports one). */
  readonly footprint: ProtocolFootprint | undefined;
  /** Inputs its protocol refused (`reject` outputs), by RejectionCode. */
  readonly rejections: Readonly<Record<string, number>>;
  /** The commit certificates it output (see `CertificateReport`). */
  readonly certificates: CertificateReport;
  /** With `transcripts` (honest replicas only): what it received and the certificates it output, for `investigate`. */
  readonly transcript?: Transcript;
}

/** What one replica's `commit` outputs carried as certificates. */
export interface CertificateReport {
  /** Commit outputs with a certificate, and without one. */
  readonly count: number;
  readonly missing: number;
  /** With `checkCertificates`: bytes of the largest certificate of an honest replica, and of all of them together (0 without). */
  readonly maxBytes: number;
  readonly totalBytes: number;
  /** With `checkCertificates`: the first certificate that did not verify or named another block than its commit's last, and why. */
  readonly failed: string | undefined;
  /**
   * The first and the last certificate it output (at most two), each with the height of the block
   * it certifies and the ledger's headers from that height down to at most 4 below (the first is
   * the certified block's): material for checks that need no rerun (bit flips, finality proofs).
   */
  readonly samples: ReadonlyArray<{ readonly certificate: Uint8Array; readonly height: number; readonly headers: readonly BlockHeader[] }>;
}

/** A distribution of samples: count, mean and percentiles (nearest rank). All zero when empty. */
export interface Distribution {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Finalization latency over every (honest replica, newly finalized block) pair: in ms from the
 * block's proposal to its finalization there, and in views from the block's view to the
 * replica's view when it finalized. Samples are in finalization order, for histograms.
 */
export interface LatencyReport {
  readonly ms: Distribution;
  readonly views: Distribution;
  readonly samplesMs: readonly number[];
  readonly samplesViews: readonly number[];
}

export interface SimulationResult {
  readonly seed: number;
  readonly replicas: readonly ReplicaReport[];
  /** The first safety violation found, if any: two honest replicas finalized different blocks at one height, or one tried to revert. */
  readonly safetyViolation: string | undefined;
  /**
   * Honest validators that signed two different statements for one (domain, view, sequence)
   * in the messages they sent (ProtocolDefinition.votes), restarts included: one line each.
   */
  readonly doubleSigns: readonly string[];
  /** Validators shown to equivocate by verified evidence. */
  readonly offenders: readonly number[];
  readonly evidence: readonly Evidence[];
  readonly messages: number;
  readonly bytes: number;
  readonly messagesByKind: Readonly<Record<string, number>>;
  /** Inputs refused by the protocols of every replica, by RejectionCode (per replica: `replicas[i].rejections`). */
  readonly rejections: Readonly<Record<string, number>>;
  /** The lowest finalized height among honest replicas. */
  readonly honestFinalizedHeight: number;
  readonly latency: LatencyReport;
  /** Where the run stopped early: more than maxEventsPerInstant events at this one virtual time (unbounded progress in zero time). */
  readonly stoppedAt: number | undefined;
  /**
   * Byzantine validators (strategies and twins) and what their number allows: two quorums share
   * `forkNeeds` = 2 * quorum - n validators, so a coalition of at least that many can make two
   * honest replicas finalize different blocks (beyond f = `f`). `expectedFork`: this run's
   * coalition is that large, so a safety violation is the scenario's outcome, not a bug.
   */
  readonly coalition: { readonly size: number; readonly f: number; readonly forkNeeds: number; readonly expectedFork: boolean };
  /** The run's validator keys and signature scheme: what its evidence and certificates verify with. */
  readonly keys: { readonly validators: ValidatorSet; readonly scheme: SignatureScheme };
  /** "safe", or the safety violation: the verdict in one word or one line. */
  readonly verdict: string;
  readonly trace: readonly TraceRecord[];
  traceJsonl(): string;
}

type Event<M> =
  | { readonly kind: 'start'; readonly instance: number }
  | { readonly kind: 'deliver'; readonly instance: number; readonly from: number; readonly message: M; readonly sentAt: number }
  | { readonly kind: 'timer'; readonly instance: number; readonly timer: string; readonly token: number }
  | { readonly kind: 'crash'; readonly instance: number; readonly restart: Restart }
  | { readonly kind: 'recover'; readonly instance: number }
  | { readonly kind: 'txs'; readonly txs: readonly Uint8Array[]; readonly to: readonly number[] | undefined; readonly endpoints?: readonly number[] };

interface Instance<M> {
  readonly validator: number;
  readonly honest: boolean;
  replica: ReplicaLike<M>;
  /** The bare protocol instance (inside any Byzantine wrapper), for its footprint. */
  protocol: Protocol<M>;
  /** Down since this time (undefined: up). */
  downSince: number | undefined;
  /** The last crash's time: messages sent before it are lost to this instance. */
  lastCrash: number;
  /** A crash due in the middle of the next step at or after `at`. */
  pendingCrash: Restart | undefined;
  lastPersist: Uint8Array | undefined;
  restarts: number;
  maxPersistedBytes: number;
  readonly ledger: Ledger;
  readonly commitTimes: number[];
  readonly timers: Map<string, number>;
  persisted: number;
  proposed: number;
  certified: number;
  /** The replica's current view, from its own 'view' trace events. */
  view: number;
  /** Rejections by code, over its lives. */
  readonly rejections: Map<string, number>;
  readonly certificates: { count: number; missing: number; maxBytes: number; totalBytes: number; failed: string | undefined; first: CommitCertificate | undefined; last: CommitCertificate | undefined };
  /** With `transcripts`, an honest instance's: messages received (encoded), certificates output. */
  readonly transcript: { readonly messages: Uint8Array[]; readonly certificates: Uint8Array[] } | undefined;
}

/** Runs one deterministic simulation. Same config (and seed), same result and trace, bit for bit. */
export function simulate<M>(config: SimulationConfig<M>): SimulationResult {
  const run = startSimulation(config);
  run.runUntil(config.duration);
  return run.result();
}

/**
 * A simulation advanced by its caller: run to a virtual time, look at the
 * replicas (through the protocol definition's own handles), offer more
 * transactions, go on. `simulate` is startSimulation then runUntil(duration).
 */
export interface RunningSimulation {
  /** Virtual time reached so far. */
  readonly now: number;
  /** Processes every event up to and including virtual time `t` (not before `now`). */
  runUntil(t: number): void;
  /** Offers transactions at virtual time `at` (default: now) to every replica, or to the instances of validators `to`. */
  offer(txs: readonly Uint8Array[], options?: { readonly at?: number; readonly to?: readonly number[] }): void;
  /** The summary of the run so far. */
  result(): SimulationResult;
}

export function startSimulation<M>(config: SimulationConfig<M>): RunningSimulation {
  const { protocol, n, seed, network, timing, duration } = config;
  const rng = new Rng(seed);
  const netRng = rng.split('network');
  const txRng = rng.split('transactions');
  const scheme: SignatureScheme = config.signatures === 'ed25519' ? createSignatureScheme() : new SimulatedSignatureScheme();
  const secrets = Array.from({ length: n }, (_, i) => (scheme instanceof SimulatedSignatureScheme ? scheme.keyPair(i).secretKey : seedKey(seed, i)));
  const signers: Signer[] = secrets.map((s) => scheme.signer(s));
  const validators = new ValidatorSet(signers.map((s) => s.publicKey));
  const verifier = new StatementVerifier(validators, scheme);
  const strategies = new Map((config.byzantine ?? []).map((b) => [b.replica, b.strategy]));
  const twins = new Set(config.twins ?? []);
  const tracing = config.trace !== false;
  const trace: TraceRecord[] = [];
  const kinds = config.traceKinds === undefined ? undefined : new Set(config.traceKinds);
  const record = (t: number, r: Record<string, unknown>) => {
    if (tracing && (kinds === undefined || kinds.has(r.ev as string))) trace.push({ t, ...r });
  };

  const instances: Instance<M>[] = [];
  const coalition: Coalition = { forkTip: undefined }; // all Byzantine replicas of a run collude
  const createReplica = (validator: number, ledger: Ledger, safetyState: Uint8Array | undefined): { replica: ReplicaLike<M>; protocol: Protocol<M> } => {
    const honestInstance = protocol.create({
      self: validator,
      finalized: ledger,
      validators,
      scheme,
      signer: signers[validator]!,
      timing,
      ...(safetyState !== undefined ? { safetyState } : {}),
      ...(config.leaderSchedule ? { leaderSchedule: config.leaderSchedule } : {}),
      ...(config.maxBlockTxs ? { maxBlockTxs: config.maxBlockTxs } : {}),
    });
    const strategy = strategies.get(validator);
    const replica: ReplicaLike<M> = strategy === undefined ? honestInstance : byzantine(honestInstance, strategy, protocol.byzantine, signers[validator]!, n, coalition);
    return { replica, protocol: honestInstance };
  };
  const makeInstance = (validator: number) => {
    const ledger = new Ledger();
    const { replica, protocol: bare } = createReplica(validator, ledger, undefined);
    instances.push({
      validator,
      honest: !strategies.has(validator) && !twins.has(validator),
      replica,
      protocol: bare,
      downSince: undefined,
      lastCrash: -1,
      pendingCrash: undefined,
      lastPersist: undefined,
      restarts: 0,
      maxPersistedBytes: 0,
      ledger,
      commitTimes: [],
      timers: new Map(),
      persisted: 0,
      proposed: 0,
      certified: 0,
      view: 0,
      rejections: new Map(),
      certificates: { count: 0, missing: 0, maxBytes: 0, totalBytes: 0, failed: undefined, first: undefined, last: undefined },
      transcript: config.transcripts === true && !strategies.has(validator) && !twins.has(validator) ? { messages: [], certificates: [] } : undefined,
    });
  };
  for (let v = 0; v < n; v++) makeInstance(v);
  for (const v of twins) makeInstance(v);
  // Instance indexes per validator (two for a twin), computed once: `send` runs per recipient.
  const instancesByValidator: number[][] = Array.from({ length: n }, () => []);
  instances.forEach((inst, i) => instancesByValidator[inst.validator]!.push(i));

  const queue = new EventQueue<Event<M>>();
  instances.forEach((_, i) => queue.push(0, { kind: 'start', instance: i }));
  if (config.transactions !== undefined) {
    const { every, perBatch, size = 32 } = config.transactions;
    let counter = 0;
    for (let t = every; t <= duration; t += every) {
      const txs = Array.from({ length: perBatch }, () => {
        const tx = new Uint8Array(size);
        for (let i = 0; i < size; i++) tx[i] = txRng.int(0, 255);
        tx[0] = counter & 0xff; // distinct transactions
        tx[1] = (counter++ >> 8) & 0xff;
        return tx;
      });
      queue.push(t, { kind: 'txs', txs, to: undefined });
    }
  }
  for (const w of config.workload ?? []) {
    if (w.endpoints !== undefined && w.to !== undefined) throw new RangeError('workload: give `to` (validators) or `endpoints` (instances), not both');
    const bad = w.endpoints?.find((e) => !Number.isSafeInteger(e) || e < 0 || e >= n + twins.size);
    if (bad !== undefined) throw new RangeError(`workload: no endpoint ${bad} (n = ${n}, ${twins.size} twin(s): 0 to ${n + twins.size - 1})`);
  }
  for (const w of config.workload ?? []) queue.push(w.at, { kind: 'txs', txs: w.txs, to: w.to, ...(w.endpoints !== undefined ? { endpoints: w.endpoints } : {}) });
  for (const r of config.restarts ?? []) {
    if (!Number.isSafeInteger(r.replica) || r.replica < 0 || r.replica >= n) throw new RangeError(`restart: no replica ${r.replica} (n = ${n})`);
    if (!Number.isSafeInteger(r.at) || r.at < 0 || !Number.isSafeInteger(r.downFor) || r.downFor < 0) throw new RangeError(`restart of ${r.replica}: at and downFor must be non-negative integers`);
    if (r.prefix !== undefined && (!Number.isSafeInteger(r.prefix) || r.prefix < 0)) throw new RangeError(`restart of ${r.replica}: prefix must be a non-negative integer`);
    queue.push(r.at, { kind: 'crash', instance: r.replica, restart: r });
  }

  let messages = 0;
  let bytes = 0;
  const messagesByKind: Record<string, number> = {};
  const evidence: Evidence[] = [];
  const offenders = new Set<number>();
  let safetyViolation: string | undefined;
  const finalizedBy = new Map<number, string>(); // height -> block id first finalized by an honest replica
  const proposedAt = new Map<string, number>(); // block id -> time of its first proposal
  const proposalOf = new Map<string, string>(); // ledger block id -> the id it was proposed under, where they differ
  const latencyMs: number[] = [];
  const latencyViews: number[] = [];

  // Per message object: a broadcast is encoded (and, with wireCheck, decoded) once, not once per recipient.
  const wire = new WeakMap<object, { size: number; delivered: M; traits: MessageTraits }>();
  const isVote = protocol.byzantine?.isVote;
  const onWire = (message: M): { size: number; delivered: M; traits: MessageTraits } => {
    const key = message as unknown as object;
    let w = wire.get(key);
    if (w === undefined) {
      const bytes = protocol.encodeMessage(message);
      const traits = { kind: protocol.messageKind(message), vote: isVote?.(message) ?? false };
      w = { size: bytes.length, delivered: config.wireCheck ? protocol.decodeMessage(bytes) : message, traits };
      wire.set(key, w);
    }
    return w;
  };
  const send = (fromInstance: number, to: number, message: M, now: number, extraDelay: number) => {
    const from = instances[fromInstance]!.validator;
    const { size, delivered, traits } = onWire(message);
    const kind = traits.kind;
    for (const target of instancesByValidator[to]!) {
      if (target === fromInstance) continue;
      messages++;
      bytes += size;
      messagesByKind[kind] = (messagesByKind[kind] ?? 0) + 1;
      // The network addresses instances: validator v is endpoint v, the twin of twins[k] is endpoint n + k.
      const arrivals = network.deliveries(fromInstance, target, now + extraDelay, netRng, traits);
      if (tracing && arrivals.length === 0) record(now, { ev: 'drop', from, to, kind });
      for (const at of arrivals) {
        if (tracing) record(now, { ev: 'send', from, to, kind, bytes: size, at });
        queue.push(at, { kind: 'deliver', instance: target, from, message: delivered, sentAt: now });
      }
    }
  };

  // Double-signing: what each honest key signed per (domain, view, sequence), over its whole life.
  const signedBy = new Map<string, string>();
  const doubleSigns: string[] = [];
  const audited = new WeakSet<object>();
  const audit = (inst: Instance<M>, message: M, now: number) => {
    if (!inst.honest || audited.has(message as unknown as object)) return;
    audited.add(message as unknown as object);
    for (const st of protocol.votes(message)) {
      if (st.signer !== inst.validator) continue;
      const key = `${st.domain}|${st.view}|${st.sequence}|${st.signer}`;
      const hash = toHex(st.blockHash);
      const earlier = signedBy.get(key);
      if (earlier === undefined) signedBy.set(key, hash);
      else if (earlier !== hash) {
        const line = `honest replica ${inst.validator} signed two statements at t=${now}: ${st.domain} view ${st.view} sequence ${st.sequence}: ${earlier.slice(0, 12)} and ${hash.slice(0, 12)}`;
        doubleSigns.push(line);
        safetyViolation ??= line;
      }
    }
  };

  // What `drive` steps: the outputs the instance gave for the step's one input. The instance is
  // stepped first so that a step that asks nothing (most steps: a vote counted, an echo) skips the
  // driver, whose split of it would be empty; and the outputs' own order is still at hand (the
  // driver groups them by what they are) for the view a replica was in at each commit.
  const stepped = {
    outputs: [] as AdversarialOutput<M>[],
    step: (): AdversarialOutput<M>[] => stepped.outputs,
  };
  const one: ProtocolInput<M>[] = [];
  // One result filled by every step (each is consumed before the next): no allocation per step.
  const driven = newDriven<AdversarialOutput<M>>();
  /** The view of the last 'view' trace before `block`'s commit in the step, else the view the replica was in before it. */
  const viewAtCommit = new Map<Block, number>();
  const commitViews = (outputs: readonly AdversarialOutput<M>[]) => {
    viewAtCommit.clear();
    let view: number | undefined;
    for (const o of outputs) {
      if (o.type === 'trace' && o.event.kind === 'view') view = o.event.view;
      else if (o.type === 'commit' && view !== undefined) for (const b of o.blocks) viewAtCommit.set(b, view);
    }
  };

  /**
   * What a step leaves durable, applied as a real runtime writes it (one batch, before any action):
   * the latest safety state, the finalized blocks (the ledger refuses a conflicting one: a safety
   * violation when the replica is honest), the evidence (verified).
   */
  const applyDurable = (i: number, durable: Driven<AdversarialOutput<M>>['durable'], actions: Driven<AdversarialOutput<M>>['actions'], now: number) => {
    const inst = instances[i]!;
    if (durable.safetyState !== undefined) {
      inst.persisted += durable.persists;
      inst.lastPersist = durable.safetyState;
      if (durable.safetyState.length > inst.maxPersistedBytes) inst.maxPersistedBytes = durable.safetyState.length;
    }
    if (durable.commits.length > 0) {
      // For latency: the ids blocks were proposed under, where they differ (PBFT), come with the step's finalize traces.
      for (const a of actions) if (a.type === 'trace' && a.event.kind === 'finalize' && a.event.proposal !== undefined) proposalOf.set(a.event.block, a.event.proposal);
      commitViews(stepped.outputs);
      const before = inst.ledger.height;
      try {
        inst.ledger.extend(durable.commits);
      } catch (e) {
        if (!(e instanceof ConsensusError)) throw e;
        if (inst.honest) safetyViolation ??= `replica ${inst.validator} at t=${now}: ${e.message}`;
      }
      // What was added, a refused block's predecessors in the same step included.
      for (let h = before + 1; h <= inst.ledger.height; h++) {
        const b = inst.ledger.at(h)!;
        inst.commitTimes.push(now);
        if (inst.honest) {
          const at = proposedAt.get(b.id) ?? proposedAt.get(proposalOf.get(b.id) ?? '');
          if (at !== undefined) latencyMs.push(now - at);
          latencyViews.push(Math.max(0, (viewAtCommit.get(b) ?? inst.view) - b.view));
        }
        // With the id it was proposed under where it differs: this record comes before the protocol's own finalize event (durable first).
        const proposal = tracing ? proposalOf.get(b.id) : undefined;
        if (tracing) record(now, { ev: 'finalize', replica: inst.validator, instance: i, height: b.height, block: b.id, txs: payloadTransactions(b.payload).length, honest: inst.honest, ...(proposal === undefined ? {} : { proposal }) });
        if (!inst.honest) continue;
        const first = finalizedBy.get(b.height);
        if (first === undefined) finalizedBy.set(b.height, b.id);
        else if (first !== b.id) safetyViolation ??= `height ${b.height}: replica ${inst.validator} finalized ${b.id.slice(0, 12)} but another honest replica finalized ${first.slice(0, 12)}`;
      }
    }
    for (const c of durable.certificates) noteCertificate(inst, c);
    for (const e of durable.evidence) {
      const valid = verifyEvidence(e, verifier);
      record(now, { ev: 'evidence', by: inst.validator, offender: e.offender, valid });
      if (valid && inst.honest) {
        if (!offenders.has(e.offender)) evidence.push(e);
        offenders.add(e.offender);
      }
    }
  };

  const checkCertificates = config.checkCertificates === true && protocol.verifyCommit !== undefined;
  /** Certificates that verified and named their block, by block id (at most 4 distinct ones each). */
  const verifiedCertificates = new Map<string, Uint8Array[]>();
  /** Counts a commit output's certificate; with `checkCertificates`, an honest replica's is verified by the keys alone. */
  const noteCertificate = (inst: Instance<M>, commit: CommitCertificate) => {
    const c = inst.certificates;
    if (!commit.certified) {
      c.missing++;
      return;
    }
    c.count++;
    if (inst.transcript !== undefined && commit.certificate !== undefined) inst.transcript.certificates.push(commit.certificate);
    // Kept unread (a protocol may encode it only when read): read for the report's samples and sizes, and to check it.
    c.first ??= commit;
    c.last = commit;
    if (!checkCertificates || !inst.honest || c.failed !== undefined) return;
    const { block, certificate } = commit;
    if (certificate === undefined) {
      c.failed = `the commit ending at height ${block.height} says it has a certificate but gives none`;
      return;
    }
    c.totalBytes += certificate.length;
    if (certificate.length > c.maxBytes) c.maxBytes = certificate.length;
    // Replicas mostly output the same bytes for a block: each distinct certificate is checked once.
    const seen = verifiedCertificates.get(block.id);
    if (seen?.some((v) => bytesEqual(v, certificate))) return;
    const check = protocol.verifyCommit!(certificate, validators, scheme);
    if (!check.ok) c.failed = `the certificate of height ${block.height} does not verify: ${check.reason}`;
    else if (check.height !== block.height || !bytesEqual(check.blockHash, block.hash)) c.failed = `the certificate of the commit ending at height ${block.height} (${block.id.slice(0, 12)}) proves height ${check.height} (${toHex(check.blockHash).slice(0, 12)})`;
    else if (seen === undefined) verifiedCertificates.set(block.id, [certificate]);
    else if (seen.length < 4) seen.push(certificate);
  };

  /** Refusals are counted per replica (and traced when tracing). */
  const countRejections = (i: number, rejections: Driven<AdversarialOutput<M>>['rejections'], now: number) => {
    const inst = instances[i]!;
    for (let k = 0; k < rejections.length; k++) {
      const r = rejections[k]!;
      inst.rejections.set(r.code, (inst.rejections.get(r.code) ?? 0) + 1);
      if (tracing) record(now, { ev: 'reject', replica: inst.validator, code: r.code, ...(r.from === undefined ? {} : { from: r.from }), ...(r.kind === undefined ? {} : { kind: r.kind }) });
    }
  };

  /** The first `count` actions of a step, in order: messages (audited for double signing), timers, traces. */
  const carryOut = (i: number, actions: Driven<AdversarialOutput<M>>['actions'], count: number, now: number) => {
    const inst = instances[i]!;
    for (let k = 0; k < count; k++) {
      const o = actions[k]!;
      switch (o.type) {
        case 'send':
          audit(inst, o.message, now);
          send(i, o.to, o.message, now, 0);
          break;
        case 'send-delayed':
          audit(inst, o.message, now);
          send(i, o.to, o.message, now, o.delay);
          break;
        case 'broadcast':
          audit(inst, o.message, now);
          for (let to = 0; to < n; to++) if (to !== inst.validator || twins.has(to)) send(i, to, o.message, now, 0);
          break;
        case 'set-timer': {
          const token = (inst.timers.get(o.timer) ?? 0) + 1;
          inst.timers.set(o.timer, token);
          queue.push(Math.max(o.at, now), { kind: 'timer', instance: i, timer: o.timer, token });
          break;
        }
        case 'cancel-timer':
          inst.timers.set(o.timer, (inst.timers.get(o.timer) ?? 0) + 1);
          break;
        case 'trace': {
          const e = o.event;
          if (e.kind === 'view') inst.view = e.view;
          else if (e.kind === 'propose') {
            inst.proposed++;
            if (!proposedAt.has(e.block)) proposedAt.set(e.block, now);
          } else if (e.kind === 'certify') inst.certified++;
          else if (e.kind === 'finalize' && e.proposal !== undefined) proposalOf.set(e.block, e.proposal);
          if (tracing) record(now, { ev: e.kind, replica: inst.validator, ...e });
          break;
        }
      }
    }
  };

  // Every step goes through the one driver, as in the replica: durable first, then the actions.
  const stepInstance = (i: number, input: ProtocolInput<M>) => {
    const inst = instances[i]!;
    if (inst.downSince !== undefined) return;
    const outputs = inst.replica.step(input);
    const due = inst.pendingCrash;
    const crashes = due !== undefined && input.now >= due.at;
    // A crash in this step (with a prefix) hits at a point a real runtime has: before the durable
    // write (prefix 0: nothing of the step happened), or after it and the first prefix - 1 actions.
    if (crashes && (due.prefix === 0 || outputs.length === 0)) return crash(i, input.now, due.downFor);
    if (outputs.length === 0) return;
    if (outputs.length === 1 && outputs[0]!.type === 'reject') {
      // A step that only refused its input (most often an echo seen before): nothing to make
      // durable or carry out, so the driver's split is the output itself. Counted here directly:
      // Streamlet with echo has about 100,000 such steps per run at n = 16.
      countRejections(i, outputs as unknown as Driven<AdversarialOutput<M>>['rejections'], input.now);
      if (crashes) crash(i, input.now, due.downFor);
      return;
    }
    stepped.outputs = outputs;
    one[0] = input;
    const { durable, actions, rejections } = drive<M, AdversarialOutput<M>>(stepped, one, driven);
    applyDurable(i, durable, actions, input.now);
    countRejections(i, rejections, input.now);
    carryOut(i, actions, crashes ? Math.min(actions.length, due.prefix! - 1) : actions.length, input.now);
    if (crashes) crash(i, input.now, due.downFor);
  };
  const crash = (i: number, now: number, downFor: number) => {
    const inst = instances[i]!;
    inst.pendingCrash = undefined;
    inst.downSince = now;
    inst.lastCrash = now;
    for (const timer of inst.timers.keys()) inst.timers.set(timer, inst.timers.get(timer)! + 1); // its timers die with it
    record(now, { ev: 'crash', replica: inst.validator });
    queue.push(now + downFor, { kind: 'recover', instance: i });
  };
  const recover = (i: number, now: number) => {
    const inst = instances[i]!;
    const { replica, protocol: bare } = createReplica(inst.validator, inst.ledger, inst.lastPersist);
    inst.replica = replica;
    inst.protocol = bare;
    inst.downSince = undefined;
    inst.restarts++;
    record(now, { ev: 'recover', replica: inst.validator });
    stepInstance(i, { type: 'start', now });
  };

  let now = 0;
  let stoppedAt: number | undefined;
  const maxEventsPerInstant = config.maxEventsPerInstant ?? 50_000;
  let instant = -1;
  let eventsThisInstant = 0;
  const runUntil = (until: number) => {
    if (!Number.isSafeInteger(until) || until < now) throw new RangeError(`runUntil(${until}): time must be an integer not before now (${now})`);
    if (stoppedAt !== undefined) return;
    for (;;) {
      const next = queue.peekTime();
      if (next === undefined || next > until) break;
      const { time, item } = queue.pop()!;
      if (time !== instant) {
        instant = time;
        eventsThisInstant = 0;
      }
      if (++eventsThisInstant > maxEventsPerInstant) {
        stoppedAt = time;
        record(time, { ev: 'stopped', reason: `more than ${maxEventsPerInstant} events at one instant` });
        return;
      }
      handleEvent(time, item);
    }
    now = until;
  };
  const handleEvent = (time: number, item: Event<M>) => {
    switch (item.kind) {
      case 'start':
        stepInstance(item.instance, { type: 'start', now: time });
        break;
      case 'deliver':
        if (instances[item.instance]!.downSince !== undefined || item.sentAt < instances[item.instance]!.lastCrash) break; // lost with the crash
        if (tracing) record(time, { ev: 'deliver', to: instances[item.instance]!.validator, from: item.from, kind: protocol.messageKind(item.message) });
        instances[item.instance]!.transcript?.messages.push(protocol.encodeMessage(item.message));
        stepInstance(item.instance, { type: 'message', from: item.from, message: item.message, now: time });
        break;
      case 'timer':
        if (instances[item.instance]!.timers.get(item.timer) !== item.token) break; // cancelled or replaced
        record(time, { ev: 'timer', replica: instances[item.instance]!.validator, timer: item.timer });
        stepInstance(item.instance, { type: 'timer', timer: item.timer, now: time });
        break;
      case 'crash': {
        const inst = instances[item.instance]!;
        if (inst.downSince !== undefined) break; // already down: this restart is absorbed by that one
        if (item.restart.prefix !== undefined) inst.pendingCrash = item.restart;
        else crash(item.instance, time, item.restart.downFor);
        break;
      }
      case 'recover':
        recover(item.instance, time);
        break;
      case 'txs':
        instances.forEach((inst, i) => (item.endpoints !== undefined ? item.endpoints.includes(i) : item.to === undefined || item.to.includes(inst.validator)) && stepInstance(i, { type: 'transactions', txs: item.txs, now: time }));
        break;
    }
  };

  const certificateReport = (inst: Instance<M>): CertificateReport => {
    const { count, missing, maxBytes, totalBytes, failed, first, last } = inst.certificates;
    let samples: CertificateReport['samples'] | undefined;
    return {
      count,
      missing,
      maxBytes,
      totalBytes,
      failed,
      // Made when first read: reading a certificate may encode it, and most runs never look.
      get samples() {
        return (samples ??= [first, last]
          .filter((x, k): x is CommitCertificate => x !== undefined && (k === 0 || x !== first))
          .flatMap((x) => (x.certificate === undefined ? [] : [{ certificate: x.certificate, height: x.block.height, headers: headersDown(inst.ledger, x.block.height, Math.max(0, x.block.height - 4)) ?? [] }])));
      },
    };
  };

  // Those that can sign two blocks for one slot: twins, and strategies that sign conflicting statements
  // (a silent or crashed replica, however many, cannot make honest replicas disagree).
  const signsTwice = new Set<string>(['equivocate', 'double-vote', 'vote-twice', 'fork', 'forged-parent']);
  const colluding = new Set([...[...strategies].flatMap(([v, st]) => (signsTwice.has(st.kind) ? [v] : [])), ...twins]).size;
  const forkNeeds = 2 * validators.quorum - n;
  const coalitionReport = { size: colluding, f: validators.f, forkNeeds, expectedFork: colluding >= forkNeeds };
  const result = (): SimulationResult => {
  const replicas = instances.map((inst, i) => ({
    instance: i,
    validator: inst.validator,
    honest: inst.honest,
    ledger: inst.ledger.chain.map((b) => b.id),
    commitTimes: inst.commitTimes,
    persisted: inst.persisted,
    proposed: inst.proposed,
    certified: inst.certified,
    finalized: inst.ledger.height,
    ...countTransactions(inst.ledger.chain),
    restarts: inst.restarts,
    maxPersistedBytes: inst.maxPersistedBytes,
    footprint: inst.protocol.footprint?.(),
    rejections: Object.fromEntries(inst.rejections),
    certificates: certificateReport(inst),
    ...(inst.transcript !== undefined ? { transcript: { replica: inst.validator, messages: inst.transcript.messages, certificates: inst.transcript.certificates } } : {}),
  }));
  const rejections: Record<string, number> = {};
  for (const r of replicas) for (const [code, k] of Object.entries(r.rejections)) rejections[code] = (rejections[code] ?? 0) + k;
  const honestHeights = replicas.filter((r) => r.honest).map((r) => r.ledger.length);
  return {
    seed,
    replicas,
    safetyViolation,
    doubleSigns,
    offenders: [...offenders].sort((a, b) => a - b),
    evidence,
    messages,
    bytes,
    messagesByKind,
    rejections,
    honestFinalizedHeight: honestHeights.length ? Math.min(...honestHeights) : 0,
    latency: { ms: distribution(latencyMs), views: distribution(latencyViews), samplesMs: latencyMs, samplesViews: latencyViews },
    stoppedAt,
    coalition: coalitionReport,
    keys: { validators, scheme },
    verdict: safetyViolation === undefined ? 'safe' : coalitionReport.expectedFork ? `fork, as expected: ${colluding} colluding validators of ${n}, at least the ${forkNeeds} that any two quorums of ${validators.quorum} share; ${safetyViolation}` : safetyViolation,
    trace,
    traceJsonl: () => trace.map((r) => JSON.stringify(r)).join('\n') + (trace.length ? '\n' : ''),
  };
  };

  return {
    get now() {
      return now;
    },
    runUntil,
    offer(txs, options = {}) {
      const at = options.at ?? now;
      if (!Number.isSafeInteger(at) || at < now) throw new RangeError(`offer at ${at}: time must be an integer not before now (${now})`);
      queue.push(at, { kind: 'txs', txs, to: options.to });
    },
    result,
  };
}

function countTransactions(chain: readonly Block[]): { transactions: number; duplicateTransactions: number } {
  const seen = new Set<string>();
  let transactions = 0;
  let duplicateTransactions = 0;
  for (const b of chain) {
    // Receive logs a fair-ordering block carries are not transactions.
    for (const tx of payloadTransactions(b.payload)) {
      transactions++;
      const id = txKey(tx);
      if (seen.has(id)) duplicateTransactions++;
      else seen.add(id);
    }
  }
  return { transactions, duplicateTransactions };
}

/** Count, mean and nearest-rank percentiles of `samples`. */
export function distribution(samples: readonly number[]): Distribution {
  if (samples.length === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, mean, min: sorted[0]!, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

/** Deterministic Ed25519 secret for replica `i` of a run (simulation keys, not for production). */
function seedKey(seed: number, i: number): Uint8Array {
  const r = new Rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
  return Uint8Array.from({ length: 32 }, () => r.int(0, 255));
}
