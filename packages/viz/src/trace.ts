// Reads a simulator trace into the facts the consensus charts draw: blocks, who proposed them, and
// what each replica did with them. One pass over the trace.
import type { ConsensusRun, TraceRecord } from './inputs';

export interface BlockInfo {
  readonly id: string;
  readonly view: number;
  readonly height: number;
  readonly parent: string;
  readonly proposer: number;
  readonly proposedAt: number;
}

export type BlockStatus = 'finalized' | 'certified' | 'proposed' | 'orphaned';

export interface ReplicaView {
  readonly replica: number;
  readonly byzantine: boolean;
  readonly voted: ReadonlySet<string>;
  readonly certified: ReadonlySet<string>;
  /** Finalized proposal ids (a ledger block is mapped to the proposal it came from). */
  readonly finalized: ReadonlySet<string>;
  readonly finalizedHeight: number;
  /** (time, transactions) of each block this replica finalized, in order. */
  readonly commits: ReadonlyArray<{ readonly t: number; readonly height: number; readonly txs: number }>;
}

export interface TraceFacts {
  readonly blocks: ReadonlyMap<string, BlockInfo>;
  readonly replicas: readonly ReplicaView[];
  /** Leader of each view, as the replicas announced it. */
  readonly leaders: ReadonlyMap<number, number>;
  /** First time any replica entered each view. */
  readonly viewStart: ReadonlyMap<number, number>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The facts of a run's trace. Records of unknown kinds, or missing fields, are skipped. */
export function readTrace(run: ConsensusRun): TraceFacts {
  const blocks = new Map<string, BlockInfo>();
  const leaders = new Map<number, number>();
  const viewStart = new Map<number, number>();
  const byz = new Set(run.byzantine);
  const views = Array.from({ length: run.n }, (_, replica) => ({
    replica,
    byzantine: byz.has(replica),
    voted: new Set<string>(),
    certified: new Set<string>(),
    finalized: new Set<string>(),
    finalizedHeight: 0,
    commits: [] as { t: number; height: number; txs: number }[],
  }));
  // A ledger block that differs from its proposal (PBFT's batches) maps back to the proposal.
  const proposalOf = new Map<string, string>();
  for (const r of run.trace) collect(r);
  return { blocks, replicas: views, leaders, viewStart };

  function collect(r: TraceRecord): void {
    const replica = num(r['replica']);
    const view = replica === undefined ? undefined : views[replica];
    switch (r.ev) {
      case 'propose': {
        const id = str(r['block']);
        const view = num(r['view']);
        const height = num(r['height']);
        if (id === undefined || view === undefined || height === undefined || replica === undefined || blocks.has(id)) return;
        blocks.set(id, { id, view, height, parent: str(r['parent']) ?? '', proposer: replica, proposedAt: r.t });
        return;
      }
      case 'view': {
        const view = num(r['view']);
        const leader = num(r['leader']);
        if (view === undefined) return;
        if (leader !== undefined && !leaders.has(view)) leaders.set(view, leader);
        if (!viewStart.has(view)) viewStart.set(view, r.t);
        return;
      }
      case 'vote': {
        const id = str(r['block']);
        if (view !== undefined && id !== undefined) view.voted.add(id);
        return;
      }
      case 'certify': {
        const id = str(r['block']);
        if (view !== undefined && id !== undefined) view.certified.add(id);
        return;
      }
      case 'finalize': {
        const id = str(r['block']);
        if (view === undefined || id === undefined) return;
        const proposal = str(r['proposal']);
        if (proposal !== undefined) proposalOf.set(id, proposal);
        // The simulator's commit record (it names the instance); the protocol's own finalize event does not.
        if (r['instance'] === undefined) {
          // A block no one was seen proposing: a Byzantine leader's other version of its proposal
          // (its wrapper sends it without a trace). It is known from here on, led by its view's leader.
          const view = num(r['view']);
          const height = num(r['height']);
          const key = proposal ?? id;
          if (!blocks.has(key) && view !== undefined && height !== undefined) blocks.set(key, { id: key, view, height, parent: '', proposer: leaders.get(view) ?? -1, proposedAt: r.t });
          return;
        }
        const height = num(r['height']) ?? view.finalizedHeight + 1;
        view.finalized.add(proposalOf.get(id) ?? id);
        view.finalizedHeight = Math.max(view.finalizedHeight, height);
        view.commits.push({ t: r.t, height, txs: num(r['txs']) ?? 0 });
        return;
      }
    }
  }
}

/** What a block is, seen from one replica. A block is orphaned once a replica has finalized past its height without it. */
export function statusAt(view: ReplicaView, block: BlockInfo): BlockStatus {
  if (view.finalized.has(block.id)) return 'finalized';
  if (block.height <= view.finalizedHeight) return 'orphaned';
  if (view.certified.has(block.id)) return 'certified';
  return 'proposed';
}
