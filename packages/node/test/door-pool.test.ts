// The door with a verify pool: each peer's messages reach the protocol in the order they arrived,
// however the pool's checks finish, and a peer's slow checks hold up no other peer; bad signatures
// are still refused and struck; messages waiting for checks count against their peer's share of
// the queue; a proposal's client signatures are checked ahead but nothing waits for them.
import { signStatement, StatementVerifier, ValidatorSet, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import { Door, type MessageInput } from '../src/door';
import { ReplicaMetrics, VerifyPool, type VerifyJob } from '../src/index';

const scheme = createSignatureScheme('node');
const signers = [1, 2, 3, 4].map((k) => scheme.signer(new Uint8Array(32).fill(k)));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));

/** A message: an id, the votes it carries, and a proposal's payload (the wire form is an index into `sent`). */
type Message = { readonly id: number; readonly votes: SignedStatement[]; readonly payload?: Uint8Array[] };
const sent: Message[] = [];
const protocol = {
  decodeMessage: (bytes: Uint8Array) => sent[bytes[0]!]!,
  votes: (m: Message) => m.votes,
  payloadOf: (m: Message) => m.payload,
  messageKind: () => 'vote',
} as unknown as ProtocolDefinition<Message>;

function message(id: number, signer: number, good = true): Uint8Array {
  const v = signStatement(signers[signer]!, signer, 'bftx.vote', { view: id, sequence: id, blockHash: new Uint8Array(32).fill(id) });
  sent[id] = { id, votes: [good ? v : { ...v, signature: new Uint8Array(64).fill(7) }] };
  return Uint8Array.of(id);
}

/**
 * A pool whose checks finish when the test says (its real one remembers the verdicts). `finish`
 * resolves once the real check is done: a worker starting on a busy machine can take longer than
 * any fixed wait (CI saw nothing passed 50 ms after finishing).
 */
function controlledPool(real: VerifyPool) {
  const waiting: Array<{ jobs: readonly VerifyJob[]; finish: () => Promise<void> }> = [];
  const pool = {
    workers: 1,
    scheme: real.scheme,
    check: (jobs: readonly VerifyJob[]) => new Promise<boolean[]>((resolve) => waiting.push({ jobs, finish: () => real.check(jobs).then(resolve) })),
  } as unknown as VerifyPool;
  return { pool, waiting };
}

function door(pool: VerifyPool, extra: { maxQueuedPerPeer?: number; payloadJobs?: (payload: readonly Uint8Array[]) => VerifyJob[] } = {}) {
  const passed: number[] = [];
  const metrics = new ReplicaMetrics({ replica: 0, protocol: 'test' });
  const verifier = new StatementVerifier(validators, pool.scheme);
  const d = new Door<Message>({
    protocol,
    verifier,
    metrics,
    maxQueuedPerPeer: extra.maxQueuedPerPeer ?? 100,
    now: () => 0,
    log: () => undefined,
    queued: () => 0,
    disconnect: () => undefined,
    pass: (input: MessageInput<Message>) => passed.push(input.message.id),
    pool,
    ...(extra.payloadJobs ? { payloadJobs: extra.payloadJobs } : {}),
  });
  return { d, passed, metrics, verifier };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test("checks finishing in reverse order: each peer's messages still reach the protocol in its arrival order, none waits for another peer's, each signature checked once (in the pool)", async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, verifier } = door(pool);
    for (let id = 1; id <= 5; id++) d.onMessage(id % 3, message(id, id % 4));
    expect(waiting).toHaveLength(5);
    for (const w of [...waiting].reverse()) {
      await w.finish();
      await settle();
    }
    // Peers 1: 1, 4; 2: 2, 5; 0: 3. Finished 5, 4, 3, 2, 1: peer 0's goes at once, each other peer's in its order.
    expect(passed).toEqual([3, 2, 5, 1, 4]);
    // The verifier's own checks were answered from the pool's verdicts.
    expect(real.counts).toMatchObject({ inWorkers: 5, remembered: 5 });
    expect(verifier.verifications).toBe(5);
  } finally {
    await real.close();
  }
});

test('a message with a bad signature is dropped and struck when its turn comes; those after it go on', async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, metrics } = door(pool);
    d.onMessage(1, message(11, 1));
    d.onMessage(2, message(12, 2, false));
    d.onMessage(1, message(13, 3));
    await Promise.all(waiting.map((w) => w.finish()));
    await settle();
    expect(passed).toEqual([11, 13]);
    expect(await metrics.value('bftx_rejected_inputs_total', { reason: 'bad_signature' })).toBe(1);
  } finally {
    await real.close();
  }
});

test("messages waiting for their checks count against their peer's share: past it, more are dropped before any work", async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, metrics } = door(pool, { maxQueuedPerPeer: 3 });
    for (let id = 21; id <= 26; id++) d.onMessage(1, message(id, 1));
    d.onMessage(2, message(27, 2));
    expect(waiting).toHaveLength(4); // three from peer 1, one from peer 2
    expect(await metrics.value('bftx_rejected_inputs_total', { reason: 'peer_queue_full' })).toBe(3);
    await Promise.all(waiting.map((w) => w.finish()));
    await settle();
    expect(passed).toEqual([21, 22, 23, 27]);
  } finally {
    await real.close();
  }
});

test("a message needing no check (its votes checked before) waits behind its own peer's earlier one that does", async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, verifier } = door(pool);
    const again = message(31, 1);
    expect(verifier.verify(sent[31]!.votes[0]!)).toBe(true); // verified already: no job for it
    d.onMessage(1, message(32, 2));
    d.onMessage(1, again);
    expect(waiting).toHaveLength(1);
    await settle();
    expect(passed).toEqual([]);
    await waiting[0]!.finish();
    await settle();
    expect(passed).toEqual([32, 31]);
  } finally {
    await real.close();
  }
});

test("a peer's proposals full of bad client signatures hold up no message: they go on once their own votes are checked, and their payload checks are bounded per peer", async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    // Every payload transaction is a job (none admitted here), with a junk signature.
    const junk = (payload: readonly Uint8Array[]): VerifyJob[] => payload.map((tx) => ({ publicKey: signers[0]!.publicKey, domain: 'bftx.order', payload: tx, signature: new Uint8Array(64).fill(9) }));
    const { d, passed } = door(pool, { payloadJobs: junk });
    const proposal = (id: number, txs: number) => {
      const bytes = message(id, 1);
      sent[id] = { ...sent[id]!, payload: Array.from({ length: txs }, (_, i) => Uint8Array.of(id, i & 0xff, i >> 8)) };
      return bytes;
    };
    d.onMessage(1, proposal(41, 15_000));
    d.onMessage(1, proposal(42, 15_000)); // past the peer's 20,000 outstanding: only 5,000 sent
    d.onMessage(2, message(43, 2));
    const payloadBatches = waiting.filter((w) => w.jobs.some((j) => j.domain === 'bftx.order'));
    expect(payloadBatches.map((w) => w.jobs.length)).toEqual([15_000, 5_000]);
    // Only the votes' checks finish: every message goes on; the payload checks are still out.
    await Promise.all(waiting.filter((w) => !payloadBatches.includes(w)).map((w) => w.finish()));
    await settle();
    expect(passed.sort()).toEqual([41, 42, 43]);
    // More proposals from that peer send nothing ahead until its checks are answered.
    d.onMessage(1, proposal(44, 10));
    expect(waiting.filter((w) => w.jobs.some((j) => j.domain === 'bftx.order'))).toHaveLength(2);
  } finally {
    await real.close();
  }
});
