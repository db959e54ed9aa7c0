// The runtime's pipeline, with a store whose writes finish when the test says: the next group is
// driven (and its batch queued) while one group's batch is being written, yet no message leaves
// before the batch of its own group, and of every group before it, is durable.
import { Ledger, type ProtocolInput, type ProtocolOutput } from '@bftx/consensus';
import { ReplicaMetrics } from '../src/index';
import { Runtime, type Outlet } from '../src/runtime';

type Event = string;

function setup() {
  const events: Event[] = [];
  const writes: Array<{ group: number; finish: () => void; fail: (e: Error) => void }> = [];
  let groups = 0;
  // Each group of inputs: one safety state naming the group and one message to send.
  const driven = {
    self: 0,
    step(input: ProtocolInput<number>): ProtocolOutput<number>[] {
      if (input.type !== 'transactions') return [];
      const k = input.txs[0]![0]!;
      // Inputs above 100 also report evidence against replica 3 (another statement each time).
      const evidence: ProtocolOutput<number>[] = k > 100 ? [{ type: 'evidence', evidence: { kind: 'equivocation', offender: 3, first: { domain: 'bftx.vote', view: k, sequence: k, blockHash: new Uint8Array(32), signer: 3, signature: new Uint8Array(64) }, second: { domain: 'bftx.vote', view: k, sequence: k, blockHash: new Uint8Array(32).fill(1), signer: 3, signature: new Uint8Array(64) } } as never }] : [];
      return [
        { type: 'persist', state: Uint8Array.of(k) },
        ...evidence,
        { type: 'broadcast', message: k },
      ];
    },
  };
  const store = {
    write(w: { safetyState?: Uint8Array; evidence?: readonly unknown[] }) {
      const group = w.safetyState?.[0] ?? -1;
      groups++;
      events.push(`write ${group} queued${w.evidence?.length ? ` with ${w.evidence.length} evidence` : ''}`);
      return new Promise<void>((resolve, reject) => writes.push({ group, finish: () => (events.push(`write ${group} durable`), resolve()), fail: reject }));
    },
  };
  const outlet: Outlet = {
    send: () => undefined,
    broadcast: (bytes) => void events.push(`send ${bytes[0]}`),
    stop: async () => undefined,
  };
  const logged = { handOver: (o: unknown) => o, rawMessages: new Map(), takeRecords: () => [], takeCertificates: () => [], logTruncated: () => undefined };
  const replica = { onBlock: () => undefined, applyFinalized: () => undefined, stateRoots: [] as string[] };
  const failures: Error[] = [];
  const runtime = new Runtime<number>(
    {
      protocol: { encodeMessage: (m: number) => Uint8Array.of(m), messageKind: () => 'test', votes: () => [] } as never,
      self: 0,
      validators: 4,
      auditVotes: false,
      snapshotEvery: 1000,
      wireBytesLogged: true,
      now: () => 0,
      log: () => undefined,
    },
    { store: store as never, driven: driven as never, replica: replica as never, logged: logged as never, ledger: new Ledger(), metrics: new ReplicaMetrics({ replica: 0, protocol: 'test' }), outlet: () => outlet, finalized: () => undefined, failed: (e) => void failures.push(e) },
  );
  runtime.start([]);
  return { runtime, events, writes, failures, groups: () => groups };
}

const tick = () => new Promise((r) => setImmediate(r));

/** `setup`, its start input's group driven and that group's (empty) write finished. */
async function started(): Promise<ReturnType<typeof setup>> {
  const s = setup();
  await tick();
  s.writes[0]!.finish();
  return s;
}

const offer = (runtime: Runtime<number>, k: number) => runtime.transactions([Uint8Array.of(k)]);

test("the next group's batch is queued while one is being written; each group's message leaves only after its batch and all before it are durable", async () => {
  const { runtime, events, writes } = setup();
  await tick(); // the start input's group (nothing to write but an empty batch)

  writes[0]!.finish();
  await tick();
  events.length = 0;
  offer(runtime, 1);
  await tick();
  expect(events).toEqual(['write 1 queued']);
  offer(runtime, 2);
  await tick();
  // Group 2 was driven and its batch queued while group 1's is still being written.
  expect(events).toEqual(['write 1 queued', 'write 2 queued']);
  offer(runtime, 3);
  await tick();
  // Two groups deep: group 3 waits until group 1 is out.
  expect(events).toEqual(['write 1 queued', 'write 2 queued']);
  // Group 2's batch durable first (the store would not do that; the runtime must still hold it): nothing leaves.
  writes[2]!.finish();
  await tick();
  expect(events.filter((e) => e.startsWith('send'))).toEqual([]);
  writes[1]!.finish();
  await tick();
  await tick();
  expect(events.slice(0, 5)).toEqual(['write 1 queued', 'write 2 queued', 'write 2 durable', 'write 1 durable', 'send 1']);
  // Group 1 out: group 3 is driven, group 2's message follows group 1's.
  expect(events.indexOf('send 2')).toBeGreaterThan(events.indexOf('send 1'));
  expect(events).toContain('write 3 queued');
  expect(events).not.toContain('send 3');
  writes[3]!.finish();
  await runtime.idle();
  expect(events.slice(-2)).toEqual(['write 3 durable', 'send 3']);
});

test('every message leaves after its own batch is durable, for any order the writes finish in (generated)', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const { runtime, events, writes } = await started();
    await tick();
    events.length = 0;
    let x = seed;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x / 2 ** 31);
    let offered = 0;
    for (let step = 0; offered < 12 || writes.some((w) => w.group > 0 && !events.includes(`write ${w.group} durable`)); step++) {
      if (step > 10_000) throw new Error(`seed ${seed}: stuck (${JSON.stringify(events)})`);
      if (offered < 12 && rand() < 0.5) offer(runtime, ++offered);
      const open = writes.filter((w) => w.group > 0 && !events.includes(`write ${w.group} durable`));
      if (open.length > 0 && rand() < 0.5) open[Math.floor(rand() * open.length)]!.finish();
      await tick();
    }
    await runtime.idle();
    const sent = events.filter((e) => e.startsWith('send')).map((e) => Number(e.split(' ')[1]));
    // Each group's message went out once, in group order...
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    // ...and after its own batch and every earlier group's batch were durable.
    // (A group of several inputs writes one batch, named by its last: message k's is the first batch named k or above.)
    for (const g of sent) {
      const at = events.indexOf(`send ${g}`);
      const own = Math.min(...writes.filter((w) => w.group >= g).map((w) => w.group));
      for (const w of writes) if (w.group >= 1 && w.group <= own) expect(events.indexOf(`write ${w.group} durable`)).toBeLessThan(at);
    }
    expect(sent).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  }
});

test('a write that fails stops the replica: nothing of that group or any later one is sent', async () => {
  const { runtime, events, writes, failures } = await started();
  await tick();
  offer(runtime, 1);
  await tick();
  offer(runtime, 2);
  await tick();
  writes[1]!.fail(new Error('disk full'));
  await tick();
  writes[2]!.finish();
  await runtime.idle();
  expect(failures.map((e) => e.message)).toEqual(['disk full']);
  expect(events.filter((e) => e.startsWith('send'))).toEqual([]);
  expect(runtime.failure?.message).toBe('disk full');
});

test("one evidence record per offender, its first, even when the offender's second is found while the first is still being written", async () => {
  const { runtime, events, writes } = await started();
  await tick();
  offer(runtime, 101);
  await tick();
  offer(runtime, 102); // driven while 101's batch (with the evidence) is in flight
  await tick();
  expect(events.filter((e) => e.includes('queued'))).toEqual(['write -1 queued', 'write 101 queued with 1 evidence', 'write 102 queued']);
  for (const w of writes.slice(1)) w.finish();
  await runtime.idle();
  expect(runtime.evidence.map((e) => (e.kind === 'equivocation' ? e.first.view : -1))).toEqual([101]);
});

test('stopped while a group is being written: its messages do not go out once the write lands', async () => {
  const { runtime, events, writes } = await started();
  await tick();
  offer(runtime, 1);
  await tick();
  const stopping = runtime.stop();
  writes[1]!.finish();
  await stopping;
  expect(events).toContain('write 1 durable');
  expect(events.filter((e) => e.startsWith('send'))).toEqual([]);
});
