// Prometheus metrics of one replica (prom-client), in a registry of its own so several replicas can
// live in one process (tests) without mixing their figures.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why an input from the network or a client was turned away. */
export type RejectReason =
  | 'frame_oversized'
  | 'frame_empty'
  | 'frame_truncated'
  | 'malformed_envelope'
  | 'wrong_version'
  | 'wrong_cluster'
  | 'unknown_validator'
  | 'bad_handshake_signature'
  | 'unexpected_message'
  | 'unauthenticated'
  | 'malformed_consensus'
  | 'bad_signature'
  | 'queue_overflow'
  /** A connection over the cap on unauthenticated connections (in total or from one address). */
  | 'connection_limit'
  /** A peer already has its share of inputs waiting; dropped before any work (protocols re-send). */
  | 'peer_queue_full'
  /** From a peer muted for sending bad signatures or undecodable messages. */
  | 'peer_muted';

export class ReplicaMetrics {
  readonly registry = new Registry();
  readonly height: Gauge;
  readonly finalizedTransactions: Counter;
  readonly finalizationLatency: Histogram;
  readonly connectedPeers: Gauge;
  readonly messagesIn: Counter<'kind'>;
  readonly messagesOut: Counter<'kind'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly rejected: Counter<'reason'>;
  readonly protocolRejected: Counter<'code'>;
  readonly persists: Counter;
  readonly logSkipped: Counter<'reason'>;
  readonly evidence: Counter<'offender' | 'kind'>;
  readonly apiRefused: Counter<'code'>;
  readonly attestationsSigned: Counter;
  readonly attestationsReceived: Counter;
  readonly attestationsRefused: Counter<'reason'>;
  readonly attestationConflicts: Counter<'signer'>;
  readonly attestationProduceSeconds: Counter;
  readonly attestationCheckSeconds: Counter;
  readonly precheckSeconds: Histogram;
  readonly certificatesStored: Counter;
  readonly attestationRequests: Counter<'direction'>;

  constructor(labels: { readonly replica: number; readonly protocol: string }) {
    this.registry.setDefaultLabels({ replica: String(labels.replica), protocol: labels.protocol });
    const registers = [this.registry];
    this.height = new Gauge({ name: 'bftx_finalized_height', help: 'Height of the last finalized block applied here', registers });
    this.finalizedTransactions = new Counter({ name: 'bftx_finalized_transactions_total', help: 'Transactions in finalized blocks applied here', registers });
    this.finalizationLatency = new Histogram({ name: 'bftx_finalization_latency_seconds', help: 'From a transaction reaching this replica to its block being finalized here', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.connectedPeers = new Gauge({ name: 'bftx_connected_peers', help: 'Peers with an authenticated connection', registers });
    this.messagesIn = new Counter({ name: 'bftx_messages_in_total', help: 'Consensus messages received from authenticated peers', labelNames: ['kind'], registers });
    this.messagesOut = new Counter({ name: 'bftx_messages_out_total', help: 'Consensus messages queued to peers', labelNames: ['kind'], registers });
    this.bytesIn = new Counter({ name: 'bftx_bytes_in_total', help: 'Bytes received from peers', registers });
    this.bytesOut = new Counter({ name: 'bftx_bytes_out_total', help: 'Bytes written to peers', registers });
    this.rejected = new Counter({ name: 'bftx_rejected_inputs_total', help: 'Inputs turned away, by reason', labelNames: ['reason'], registers });
    this.protocolRejected = new Counter({ name: 'bftx_protocol_rejected_total', help: 'Inputs the protocol refused (its reject outputs), by RejectionCode', labelNames: ['code'], registers });
    this.evidence = new Counter({ name: 'bftx_evidence_total', help: 'Validators convicted of misbehaviour from what they signed (stored; one per offender)', labelNames: ['offender', 'kind'], registers });
    this.apiRefused = new Counter({ name: 'bftx_api_refused_total', help: 'Client API requests refused, by error code', labelNames: ['code'], registers });
    this.logSkipped = new Counter({ name: 'bftx_log_skipped_total', help: 'Messages handled but not written to the input log: a duplicate of one in it, or the log at its cap', labelNames: ['reason'], registers });
    this.attestationsSigned = new Counter({ name: 'bftx_attestations_signed_total', help: 'Execution attestations this replica signed (one per finalized block applied)', registers });
    this.attestationsReceived = new Counter({ name: 'bftx_attestations_received_total', help: 'Execution attestations from peers accepted (verified, kept)', registers });
    this.attestationsRefused = new Counter({ name: 'bftx_attestations_refused_total', help: 'Execution attestations from peers refused, by reason', labelNames: ['reason'], registers });
    this.attestationConflicts = new Counter({ name: 'bftx_attestation_conflicts_total', help: 'Verified attestations of another block or state root than this replica reached at that height, by signer: the signer or this replica diverged', labelNames: ['signer'], registers });
    this.attestationProduceSeconds = new Counter({ name: 'bftx_attestation_produce_seconds_total', help: 'Time spent producing attestations (sign, encode, queue to every peer), on the replica\'s one thread', registers });
    this.precheckSeconds = new Histogram({ name: 'bftx_precheck_seconds', help: 'A client submission\'s signatures checked on the verify pool: from sending to the last verdict', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1], registers });
    this.attestationCheckSeconds = new Counter({ name: 'bftx_attestation_check_seconds_total', help: 'Time spent checking attestations received (decode, checks, signature), on the replica\'s one thread', registers });
    this.attestationRequests = new Counter({ name: 'bftx_attestation_requests_total', help: 'Requests for missed attestations: sent to a peer (direction sent), answered for a peer (served)', labelNames: ['direction'], registers });
    this.certificatesStored = new Counter({ name: 'bftx_certificates_stored_total', help: 'Commit certificates stored (each proves the last block of a commit final)', registers });
    this.persists = new Counter({ name: 'bftx_safety_persists_total', help: 'Safety states made durable before the outputs that depend on them', registers });
  }

  reject(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }

  /**
   * Fair ordering's own counts, read from its payload policies when scraped: transactions held for
   * ordering, and those dropped unbacked (fewer than f+1 receive logs named them: sent to too few
   * replicas, or a client filling logs on purpose). Logs refused are protocol rejects already.
   */
  watchFairOrdering(policies: ReadonlyArray<{ readonly size: number; readonly evicted: number }>): void {
    const registers = [this.registry];
    // A replica that starts again (after a failed start) watches its new policies.
    for (const name of ['bftx_fair_ordering_held_transactions', 'bftx_fair_ordering_evicted_total']) this.registry.removeSingleMetric(name);
    new Gauge({
      name: 'bftx_fair_ordering_held_transactions',
      help: 'Transactions fair ordering holds, not final yet',
      registers,
      collect() {
        this.set(policies.reduce((a, p) => a + p.size, 0));
      },
    });
    let reported = 0;
    new Counter({
      name: 'bftx_fair_ordering_evicted_total',
      help: 'Transactions fair ordering dropped unbacked: fewer than f+1 receive logs named them for 16 delta',
      registers,
      collect() {
        const now = policies.reduce((a, p) => a + p.evicted, 0);
        if (now > reported) this.inc(now - reported);
        reported = now;
      },
    });
  }

  /** The value of a counter or gauge (summed over series matching these labels), for tests and summaries; not for histograms. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) throw new RangeError(`no metric ${name}`);
    const data = await metric.get();
    return data.values.filter((v) => Object.entries(labels).every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === x)).reduce((a, v) => a + v.value, 0);
  }
}
