// Streamlet (Chan and Shi, "Streamlet: Textbook Streamlined Blockchains", 2020), exactly:
//  - epochs of 2 delta; the leader of epoch e is H(e) mod n (public, so Byzantine replicas lead too);
//  - the leader proposes a block extending one of the longest notarized chains it has seen;
//  - in epoch e a replica votes for the first proposal of e's leader, only if it extends one of
//    the longest notarized chains it has seen, and at most once per epoch (persisted before sending);
//  - a block is notarized with votes of at least 2n/3 distinct validators;
//  - three adjacent notarized blocks with consecutive epochs finalize the chain up to the second;
//  - every message is echoed to all on first receipt (a switch turns echo off).
import {
  BlockTree,
  EquivocationDetector,
  FifoMempool,
  GENESIS,
  makeBlock,
  payloadMatches,
  signStatement,
  StatementVerifier,
  txKey,
  type Block,
  type Protocol,
  type ProtocolConfig,
  type ProtocolInput,
  type ProtocolOutput,
  type SignedStatement,
} from '@bftx/consensus';
import { codec, decode, Domains, encode, hash, toHex } from '@bftx/crypto';
import type { StreamletMessage } from './messages';

/** What is gossiped (and echoed): proposals and votes. */
type Gossip = Extract<StreamletMessage, { type: 'proposal' | 'vote' }>;

const SafetyStateCodec = codec.record({ lastVotedEpoch: codec.uint() });
const LeaderSeedCodec = codec.uint();

export interface StreamletOptions {
  /** Re-broadcast every message on first receipt (the paper's echo; default true). */
  readonly echo?: boolean;
}

/** The leader of `epoch` among `n`: H(epoch) mod n, a public hash. */
export function streamletLeader(epoch: number, n: number): number {
  const h = hash('bftx.leader', encode(LeaderSeedCodec, epoch));
  return (((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0) % n;
}

export class Streamlet implements Protocol<StreamletMessage> {
  readonly self: number;
  protected readonly n: number;
  protected readonly epochLength: number;
  protected readonly tree = new BlockTree();
  protected readonly verifier: StatementVerifier;
  private readonly detector = new EquivocationDetector();
  private readonly mempool = new FifoMempool();
  /** Votes by block id, one per signer. */
  private readonly votes = new Map<string, Map<number, SignedStatement>>();
  /** First proposal from the leader, per epoch. */
  protected readonly firstProposal = new Map<number, string>();
  /** Proposals for epochs that have not started here yet. */
  private readonly early = new Map<number, Gossip[]>();
  private readonly seen = new Set<string>();
  /** Distinct valid proposals seen per epoch (all from its one leader). */
  private readonly proposalVersions = new Map<number, number>();
  protected epoch = 0;
  protected lastVotedEpoch = 0;
  private readonly finalized: string[] = [GENESIS.id];
  private readonly echo: boolean;
  private readonly maxBlockTxs: number;
  private out: ProtocolOutput<StreamletMessage>[] = [];
  /** Block ids asked for (a child of each is held), and when. */
  private readonly fetching = new Map<string, number>();
  private now = 0;

  constructor(
    protected readonly config: ProtocolConfig,
    options: StreamletOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.epochLength = 2 * config.timing.delta;
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.echo = options.echo ?? true;
    this.maxBlockTxs = config.maxBlockTxs ?? 1000;
    if (config.safetyState !== undefined) this.lastVotedEpoch = decode(SafetyStateCodec, config.safetyState).lastVotedEpoch;
  }

  step(input: ProtocolInput<StreamletMessage>): ProtocolOutput<StreamletMessage>[] {
    this.out = [];
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.scheduleNextEpoch(input.now);
        break;
      case 'timer':
        if (input.timer === 'epoch') this.onEpochTimer(input.now);
        break;
      case 'transactions':
        this.mempool.add(input.txs);
        break;
      case 'message':
        if (input.message.type === 'fetch') this.onFetch(input.message.blockHash, input.from);
        else if (input.message.type === 'block') this.onFetchedBlock(input.message.block, input.message.votes);
        else this.onMessage(input.message);
        break;
    }
    return this.out;
  }

  // ---- rules (protected: the mutation tests override them to plant bugs) ----

  /** Distinct votes that notarize a block: at least 2n/3. */
  protected quorumSize(): number {
    return this.config.validators.quorum;
  }

  /** Does the notarized chain ... grandparent, parent, block finalize up to `parent`? */
  protected finalizes(grandparent: Block | undefined, parent: Block, block: Block): boolean {
    return grandparent !== undefined && grandparent.epoch + 1 === parent.epoch && parent.epoch + 1 === block.epoch;
  }

  /** May this replica vote for the leader's proposal `block` in the current epoch? */
  protected mayVote(block: Block): boolean {
    return this.firstProposal.get(block.epoch) === block.id && this.lastVotedEpoch < block.epoch && this.extendsLongestNotarized(block);
  }

  protected extendsLongestNotarized(block: Block): boolean {
    const parentId = block.parentId;
    const parent = this.tree.get(parentId);
    return parent !== undefined && this.tree.isCertifiedChain(parentId) && parent.height === this.tree.longestCertifiedHeight;
  }

  // ---- epochs and proposals ----

  private leaderOf(epoch: number): number {
    return this.config.leaderSchedule?.[epoch] ?? streamletLeader(epoch, this.n);
  }

  private scheduleNextEpoch(now: number): void {
    const next = Math.floor(now / this.epochLength) + 1;
    this.out.push({ type: 'set-timer', timer: 'epoch', at: next * this.epochLength });
  }

  private onEpochTimer(now: number): void {
    this.epoch = Math.floor(now / this.epochLength);
    const leader = this.leaderOf(this.epoch);
    this.out.push({ type: 'trace', event: { kind: 'epoch', epoch: this.epoch, leader } });
    if (leader === this.self) this.propose();
    const waiting = this.early.get(this.epoch);
    this.early.delete(this.epoch);
    for (const m of waiting ?? []) this.onMessage(m);
    this.early.forEach((_, e) => e < this.epoch && this.early.delete(e));
    this.proposalVersions.forEach((_, e) => e < this.epoch - 64 && this.proposalVersions.delete(e));
    if (this.epoch % 64 === 0) this.detector.prune(this.epoch - 64);
    this.scheduleNextEpoch(now);
  }

  private propose(): void {
    const parent = this.tree.longestCertifiedTips[0]!;
    const onChain = new Set<string>();
    for (const b of this.tree.chain(parent.id, this.finalized.length)) for (const tx of b.payload) onChain.add(txKey(tx));
    const block = makeBlock({ parent: parent.hash, height: parent.height + 1, epoch: this.epoch, proposer: this.self, payload: this.mempool.take(this.maxBlockTxs, onChain) });
    const statement = signStatement(this.config.signer, this.self, Domains.proposal, { epoch: this.epoch, slot: 0, phase: 0, blockHash: block.hash });
    const message: StreamletMessage = { type: 'proposal', block, signature: statement.signature };
    this.out.push({ type: 'trace', event: { kind: 'propose', epoch: this.epoch, block: block.id, height: block.height, parent: parent.id } });
    this.out.push({ type: 'broadcast', message });
    this.seen.add(messageId(message));
    this.acceptProposal(block, statement);
  }

  // ---- messages ----

  private onMessage(m: Gossip): void {
    const id = messageId(m);
    if (this.seen.has(id)) return;
    if (m.type === 'proposal') {
      if (m.block.epoch > this.epoch) {
        // Not its epoch yet here: hold it (bounded: only the next few epochs).
        if (m.block.epoch <= this.epoch + 8) {
          const list = this.early.get(m.block.epoch) ?? [];
          if (list.length < 4 * this.n) list.push(m);
          this.early.set(m.block.epoch, list);
        }
        return;
      }
      const statement: SignedStatement = { domain: Domains.proposal, epoch: m.block.epoch, slot: 0, phase: 0, blockHash: m.block.hash, signer: m.block.proposer, signature: m.signature };
      if (m.block.proposer !== this.leaderOf(m.block.epoch) || !this.verifier.verify(statement) || !payloadMatches(m.block)) return;
      this.seen.add(id);
      // Two versions from one leader in one epoch prove its equivocation; echoing a third adds only
      // load (an equivocating leader that re-signs every echo would flood the network), so it is
      // kept but not echoed.
      const versions = (this.proposalVersions.get(m.block.epoch) ?? 0) + 1;
      this.proposalVersions.set(m.block.epoch, versions);
      if (this.echo && versions <= 2) this.out.push({ type: 'broadcast', message: m });
      this.acceptProposal(m.block, statement);
    } else {
      const v = m.vote;
      if (v.domain !== Domains.vote || v.slot !== 0 || v.phase !== 0 || !this.verifier.verify(v)) return;
      this.seen.add(id);
      if (this.echo) this.out.push({ type: 'broadcast', message: m });
      this.countVote(v);
    }
  }

  private acceptProposal(block: Block, statement: SignedStatement): void {
    const evidence = this.detector.observe(statement);
    if (evidence !== undefined) this.out.push({ type: 'evidence', evidence });
    if (!this.firstProposal.has(block.epoch)) this.firstProposal.set(block.epoch, block.id);
    this.tree.add(block);
    this.afterTreeChange();
    if (!this.tree.has(block.id)) this.fetch(block.parent);
    else if (block.epoch === this.epoch && this.mayVote(block)) this.vote(block);
  }

  // ---- fetching missing blocks ----

  private fetch(blockHash: Uint8Array): void {
    const id = toHex(blockHash);
    const asked = this.fetching.get(id);
    if (asked !== undefined && this.now - asked < 2 * this.epochLength) return;
    if (this.fetching.size >= 1024) this.fetching.delete(this.fetching.keys().next().value!);
    this.fetching.set(id, this.now);
    this.out.push({ type: 'broadcast', message: { type: 'fetch', blockHash } });
  }

  private onFetch(blockHash: Uint8Array, from: number): void {
    const id = toHex(blockHash);
    const block = this.tree.get(id);
    if (block === undefined || block.height === 0) return;
    this.out.push({ type: 'send', to: from, message: { type: 'block', block, votes: [...(this.votes.get(id)?.values() ?? [])] } });
  }

  /** An answer to a fetch: taken only for a hash asked for; its votes are checked one by one. */
  private onFetchedBlock(block: Block, votes: readonly SignedStatement[]): void {
    if (!this.fetching.has(block.id) || this.tree.has(block.id) || block.height === 0 || !payloadMatches(block)) return;
    this.fetching.delete(block.id);
    this.tree.add(block);
    for (const v of votes) if (v.domain === Domains.vote && v.slot === 0 && v.phase === 0 && v.epoch === block.epoch && this.verifier.verify(v)) this.countVote(v);
    this.afterTreeChange();
    if (!this.tree.has(block.id)) return this.fetch(block.parent);
    // The parent arriving may let this epoch's proposal join the tree, and be voted for now.
    const current = this.firstProposal.get(this.epoch);
    const proposal = current === undefined ? undefined : this.tree.get(current);
    if (proposal !== undefined && this.mayVote(proposal)) this.vote(proposal);
  }

  private vote(block: Block): void {
    this.lastVotedEpoch = block.epoch;
    // Durable before the vote leaves: a restarted replica never votes twice in an epoch.
    this.out.push({ type: 'persist', state: encode(SafetyStateCodec, { lastVotedEpoch: this.lastVotedEpoch }) });
    const vote = signStatement(this.config.signer, this.self, Domains.vote, { epoch: block.epoch, slot: 0, phase: 0, blockHash: block.hash });
    const message: StreamletMessage = { type: 'vote', vote };
    this.seen.add(messageId(message));
    this.out.push({ type: 'trace', event: { kind: 'vote', epoch: block.epoch, block: block.id } });
    this.out.push({ type: 'broadcast', message });
    this.countVote(vote);
  }

  private countVote(v: SignedStatement): void {
    const evidence = this.detector.observe(v);
    if (evidence !== undefined) this.out.push({ type: 'evidence', evidence });
    const id = toHex(v.blockHash);
    let byBlock = this.votes.get(id);
    if (byBlock === undefined) this.votes.set(id, (byBlock = new Map()));
    if (byBlock.has(v.signer)) return;
    byBlock.set(v.signer, v);
    if (byBlock.size === this.quorumSize() && !this.tree.isCertified(id)) {
      this.tree.certify(id);
      const b = this.tree.get(id);
      this.out.push({ type: 'trace', event: { kind: 'notarize', epoch: v.epoch, block: id, height: b?.height ?? -1 } });
      this.afterTreeChange();
    }
  }

  // ---- finality ----

  private afterTreeChange(): void {
    for (const b of this.tree.takeNewlyCertified()) {
      const parent = this.tree.get(b.parentId);
      if (parent === undefined || parent.height === 0) continue;
      const grandparent = this.tree.get(parent.parentId);
      if (this.finalizes(grandparent, parent, b)) this.finalize(parent);
    }
  }

  private finalize(block: Block): void {
    if (block.height < this.finalized.length) {
      if (this.finalized[block.height] === block.id) return;
      // A conflicting finalization: hand it to the runtime, whose ledger refuses it loudly.
      this.out.push({ type: 'commit', blocks: this.tree.chain(block.id, block.height) });
      return;
    }
    const chain = this.tree.chain(block.id, this.finalized.length);
    for (const b of chain) {
      this.finalized.push(b.id);
      this.out.push({ type: 'trace', event: { kind: 'finalize', block: b.id, height: b.height, epoch: b.epoch } });
      this.mempool.remove(b.payload);
    }
    this.out.push({ type: 'commit', blocks: chain });
  }
}

/**
 * Identity for echo deduplication: kind, signer and the first 16 bytes of the
 * signature (checked before use; a forger cannot make a valid message collide).
 * One fromCharCode call per message: a per-byte loop of global lookups was a
 * quarter of a run's time under jest's sandboxed globals.
 */
function messageId(m: Gossip): string {
  const sig = m.type === 'proposal' ? m.signature : m.vote.signature;
  // eslint-disable-next-line prefer-spread -- apply takes the typed array as it is; a spread would iterate it
  return (m.type === 'proposal' ? 'p' : 'v') + fromCharCodes.apply(null, sig.subarray(0, 16) as unknown as number[]);
}

const fromCharCodes = String.fromCharCode;
