// The door with a verify pool: peers' messages reach the protocol in the order they arrived, however
// the pool's checks finish; bad signatures are still refused and struck; messages waiting for
// checks count against their peer's share of the queue.
import { signStatement, StatementVerifier, ValidatorSet, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import { Door, type MessageInput } from '../src/door';
import { ReplicaMetrics, VerifyPool, type VerifyJob } from '../src/index';

const scheme = createSignatureScheme('node');
const signers = [1, 2, 3, 4].map((k) => scheme.signer(new Uint8Array(32).fill(k)));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));

/** A message: an id and the votes it carries (the wire form is an index into `sent`). */
type Message = { readonly id: number; readonly votes: SignedStatement[] };
const sent: Message[] = [];
const protocol = {
  decodeMessage: (bytes: Uint8Array) => sent[bytes[0]!]!,
  votes: (m: Message) => m.votes,
  messageKind: () => 'vote',
} as unknown as ProtocolDefinition<Message>;

function message(id: number, signer: number, good = true): Uint8Array {
  const v = signStatement(signers[signer]!, signer, 'bftx.vote', { view: id, sequence: id, blockHash: new Uint8Array(32).fill(id) });
  sent[id] = { id, votes: [good ? v : { ...v, signature: new Uint8Array(64).fill(7) }] };
  return Uint8Array.of(id);
}

/** A pool whose checks finish when the test says (its real one remembers the verdicts). */
function controlledPool(real: VerifyPool) {
  const waiting: Array<{ jobs: readonly VerifyJob[]; finish: () => void }> = [];
  const pool = {
    workers: 1,
    scheme: real.scheme,
    check: (jobs: readonly VerifyJob[]) => new Promise<boolean[]>((resolve) => waiting.push({ jobs, finish: () => void real.check(jobs).then(resolve) })),
  } as unknown as VerifyPool;
  return { pool, waiting };
}

function door(pool: VerifyPool, extra: { maxQueuedPerPeer?: number } = {}) {
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
  });
  return { d, passed, metrics, verifier };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test('checks finishing in reverse order: messages still reach the protocol in arrival order, each signature checked once (in the pool)', async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, verifier } = door(pool);
    for (let id = 1; id <= 5; id++) d.onMessage(id % 3, message(id, id % 4));
    expect(waiting).toHaveLength(5);
    for (const w of [...waiting].reverse()) {
      w.finish();
      await settle();
    }
    expect(passed).toEqual([1, 2, 3, 4, 5]);
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
    for (const w of waiting) w.finish();
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
    for (const w of waiting) w.finish();
    await settle();
    expect(passed).toEqual([21, 22, 23, 27]);
  } finally {
    await real.close();
  }
});

test('a message needing no check (its votes checked before) waits behind one that does', async () => {
  const real = new VerifyPool(scheme, { workers: 1 });
  try {
    const { pool, waiting } = controlledPool(real);
    const { d, passed, verifier } = door(pool);
    const again = message(31, 1);
    expect(verifier.verify(sent[31]!.votes[0]!)).toBe(true); // verified already: no job for it
    d.onMessage(2, message(32, 2));
    d.onMessage(1, again);
    expect(waiting).toHaveLength(1);
    await settle();
    expect(passed).toEqual([]);
    waiting[0]!.finish();
    await settle();
    expect(passed).toEqual([32, 31]);
  } finally {
    await real.close();
  }
});
