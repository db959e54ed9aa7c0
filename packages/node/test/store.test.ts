// The store and the log's record format on their own: what is written reads back the same, a
// block that does not continue the chain is refused without writing anything, damaged records throw.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS, makeBlock, type ProtocolInput } from '@bftx/consensus';
import { createSignatureScheme, DecodeError } from '@bftx/crypto';
import { signAttestation } from '@bftx/exchange';
import { hotstuff, type HotStuffMessage } from '@bftx/hotstuff';
import { ClassicLevel } from 'classic-level';
import { damagedLogRecord, decodeInputRecord, encodeInputRecord, ReplicaStore, StoreError } from '../src/index';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'bftx-store-'));
  dirs.push(d);
  return d;
};

test('every kind of input survives the log record format, and a damaged record throws DecodeError', () => {
  const protocol = hotstuff();
  const inputs: ProtocolInput<HotStuffMessage>[] = [
    { type: 'start', now: 5 },
    { type: 'timer', timer: 'view', now: 7 },
    { type: 'transactions', txs: [Uint8Array.of(1, 2), Uint8Array.of(3)], now: 9 },
    { type: 'message', from: 2, message: { type: 'fetch', blockHash: new Uint8Array(32).fill(4), above: 3 }, now: 11 },
  ];
  for (const input of inputs) {
    const record = encodeInputRecord(protocol, input);
    expect(decodeInputRecord(protocol, record)).toEqual(input);
    expect(() => decodeInputRecord(protocol, record.subarray(0, record.length - 1))).toThrow(DecodeError);
  }
  // A message logged from its wire bytes reads back as the same message.
  const message = inputs[3]!;
  const raw = protocol.encodeMessage((message as Extract<typeof message, { type: 'message' }>).message);
  expect(decodeInputRecord(protocol, encodeInputRecord(protocol, message, raw))).toEqual(message);
});

test('the store: blocks, roots, snapshot, safety state and log read back after reopening; a gap is refused and nothing of that write lands', async () => {
  const dir = tmp();
  const b1 = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [Uint8Array.of(1)] });
  const b2 = makeBlock({ parent: b1.hash, height: 2, view: 2, proposer: 1, payload: [] });
  const b4 = makeBlock({ parent: b2.hash, height: 4, view: 4, proposer: 1, payload: [] });
  let store = await ReplicaStore.open(dir);
  await store.write({ inputs: [Uint8Array.of(7), Uint8Array.of(8)], safetyState: Uint8Array.of(1), blocks: [b1, b2], roots: ['aa'.repeat(32), 'bb'.repeat(32)], snapshot: { height: 2, state: Uint8Array.of(9, 9) }, sync: true });
  await expect(store.write({ inputs: [Uint8Array.of(99)], safetyState: Uint8Array.of(2), blocks: [b4], sync: true })).rejects.toThrow(/does not follow height 2/);
  await store.close();
  store = await ReplicaStore.open(dir);
  try {
    expect(store.height).toBe(2);
    expect((await store.blocks()).map((b) => b.id)).toEqual([b1.id, b2.id]);
    expect(await store.roots(1, 2)).toEqual(['aa'.repeat(32), 'bb'.repeat(32)]);
    expect(await store.snapshot()).toEqual({ height: 2, state: Uint8Array.of(9, 9) });
    expect(await store.safetyState()).toEqual(Uint8Array.of(1));
    const logged: Uint8Array[] = [];
    for await (const r of store.inputs()) logged.push(r);
    expect(logged).toEqual([Uint8Array.of(7), Uint8Array.of(8)]);
  } finally {
    await store.close();
  }
});

test('the log is truncated at every safety state: it keeps the inputs from the group that wrote the last one on, across reopening', async () => {
  const dir = tmp();
  let store = await ReplicaStore.open(dir);
  const read = async () => {
    const out: number[] = [];
    for await (const r of store.inputs()) out.push(r[0]!);
    return out;
  };
  try {
    await store.write({ inputs: [Uint8Array.of(1), Uint8Array.of(2)], blocks: [], sync: false });
    await store.write({ inputs: [Uint8Array.of(3)], blocks: [], sync: false });
    expect(await read()).toEqual([1, 2, 3]);
    await store.write({ inputs: [Uint8Array.of(4), Uint8Array.of(5)], safetyState: Uint8Array.of(1), blocks: [], sync: true });
    expect(await read()).toEqual([4, 5]);
    await store.write({ inputs: [Uint8Array.of(6)], blocks: [], sync: true });
    expect(store.loggedInputs).toBe(3);
    expect(store.inputsEverLogged).toBe(6);
    await store.close();
    store = await ReplicaStore.open(dir);
    expect(await read()).toEqual([4, 5, 6]);
    // Many groups, each with a safety state: the log never holds more than the last group.
    for (let i = 0; i < 200; i++) await store.write({ inputs: [Uint8Array.of(i & 0xff), Uint8Array.of(7)], safetyState: Uint8Array.of(i & 0xff), blocks: [], sync: false });
    expect(store.loggedInputs).toBe(2);
    expect(await read()).toEqual([199, 7]);
  } finally {
    await store.close();
  }
});

test('writes queued before the last resolved apply in order: each is numbered when called (blocks, log records), resolves only once it is durable, and the store reports only what is', async () => {
  const dir = tmp();
  const b1 = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [] });
  const b2 = makeBlock({ parent: b1.hash, height: 2, view: 2, proposer: 0, payload: [] });
  const b3 = makeBlock({ parent: b2.hash, height: 3, view: 3, proposer: 0, payload: [] });
  let store = await ReplicaStore.open(dir);
  // Three groups queued at once, as the runtime's pipeline does: the second continues the first's height and log.
  const first = store.write({ inputs: [Uint8Array.of(1)], safetyState: Uint8Array.of(1), blocks: [b1], roots: ['aa'.repeat(32)], sync: true });
  const second = store.write({ inputs: [Uint8Array.of(2)], blocks: [b2], roots: ['bb'.repeat(32)], sync: true });
  // A gap against the queued height (2), refused at once: nothing of it is queued.
  await expect(store.write({ inputs: [Uint8Array.of(9)], blocks: [makeBlock({ parent: b2.hash, height: 4, view: 4, proposer: 0, payload: [] })], sync: true })).rejects.toThrow(/does not follow height 2/);
  const third = store.write({ inputs: [Uint8Array.of(3)], safetyState: Uint8Array.of(3), blocks: [b3], roots: ['cc'.repeat(32)], sync: true });
  expect(store.height).toBe(0); // nothing durable yet
  const order: string[] = [];
  await Promise.all([first.then(() => order.push(`first ${store.height}`)), second.then(() => order.push(`second ${store.height}`)), third.then(() => order.push(`third ${store.height}`))]);
  expect(order).toEqual(['first 1', 'second 2', 'third 3']);
  await store.close();
  store = await ReplicaStore.open(dir);
  try {
    expect((await store.blocks()).map((b) => b.height)).toEqual([1, 2, 3]);
    expect(await store.roots(1, 3)).toEqual(['aa'.repeat(32), 'bb'.repeat(32), 'cc'.repeat(32)]);
    expect(await store.safetyState()).toEqual(Uint8Array.of(3));
    const logged: number[] = [];
    for await (const r of store.inputs()) logged.push(r[0]!);
    expect(logged).toEqual([3]); // the third group's safety state truncated the log before it
  } finally {
    await store.close();
  }
});

test('attestations stored in line with the groups: one stored after a queued group resolves only once that group is durable', async () => {
  const store = await ReplicaStore.open(tmp());
  try {
    const scheme = createSignatureScheme('node');
    const signer = scheme.signer(new Uint8Array(32).fill(1));
    const b1 = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [] });
    const group = store.write({ inputs: [Uint8Array.of(1)], safetyState: Uint8Array.of(1), blocks: [b1], roots: ['aa'.repeat(32)], sync: true });
    const attestation = signAttestation(signer, 0, { height: 1, blockHash: b1.hash, stateRoot: new Uint8Array(32) });
    await store.putAttestations([{ attestation, conflict: false }]);
    expect(store.height).toBe(1); // the group queued before it is durable already
    await group;
    expect((await store.attestations(1, 1)).map((r) => r.attestation.signer)).toEqual([0]);
  } finally {
    await store.close();
  }
});

test('a failed attestation write (best effort) fails no write after it; a failed group write fails every one after it', async () => {
  const store = await ReplicaStore.open(tmp());
  try {
    // The store's LevelDB, made to fail the next batch written.
    const db = (store as unknown as { db: { batch: () => { write: (o: unknown) => Promise<void> } } }).db;
    const batch = db.batch.bind(db);
    let failNext = false;
    db.batch = () => {
      const b = batch();
      if (failNext) {
        failNext = false;
        b.write = () => Promise.reject(new Error('disk said no'));
      }
      return b;
    };
    const b1 = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [] });
    failNext = true;
    await expect(store.putAttestations([])).rejects.toThrow('disk said no');
    await store.write({ inputs: [Uint8Array.of(1)], safetyState: Uint8Array.of(1), blocks: [b1], roots: ['aa'.repeat(32)], sync: true });
    expect(store.height).toBe(1);
    const b2 = makeBlock({ parent: b1.hash, height: 2, view: 2, proposer: 0, payload: [] });
    const b3 = makeBlock({ parent: b2.hash, height: 3, view: 3, proposer: 0, payload: [] });
    failNext = true;
    const failed = store.write({ inputs: [Uint8Array.of(2)], blocks: [b2], roots: ['bb'.repeat(32)], sync: true });
    const after = store.write({ inputs: [Uint8Array.of(3)], blocks: [b3], roots: ['cc'.repeat(32)], sync: true });
    await expect(failed).rejects.toThrow('disk said no');
    await expect(after).rejects.toThrow('disk said no');
    await expect(store.putAttestations([])).rejects.toThrow('disk said no');
    expect(store.height).toBe(1);
  } finally {
    await store.close();
  }
});

describe('a damaged or busy store is refused with what to do, and nothing in it changes', () => {
  const filled = async () => {
    const dir = tmp();
    const store = await ReplicaStore.open(dir);
    const b1 = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [Uint8Array.of(1)] });
    await store.write({ inputs: [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)], safetyState: Uint8Array.of(9), blocks: [b1], sync: true });
    await store.write({ inputs: [Uint8Array.of(4), Uint8Array.of(5)], blocks: [], sync: true });
    await store.close();
    return dir;
  };

  test('a directory without LevelDB CURRENT is not opened as a new store: MISSING_FILES, and every file it held is still there', async () => {
    const dir = await filled();
    unlinkSync(join(dir, 'CURRENT'));
    const before = readdirSync(dir).sort();
    const refused = await ReplicaStore.open(dir).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).code).toBe('MISSING_FILES');
    expect((refused as StoreError).message).toMatch(/Nothing was changed/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  test('a store open in another process (its LOCK held) is LOCKED, naming the cause', async () => {
    const dir = await filled();
    const first = await ReplicaStore.open(dir);
    try {
      const refused = await ReplicaStore.open(dir).catch((e: unknown) => e);
      expect((refused as StoreError).code).toBe('LOCKED');
      expect((refused as StoreError).message).toMatch(/another process holds its lock/);
    } finally {
      await first.close();
    }
  });

  test('a hole in the numbered input log throws LOG_GAP instead of replaying around it; discardInputs drops the log and keeps the rest', async () => {
    const dir = await filled();
    const raw = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.del(`wal/${String(3).padStart(16, '0')}`); // the first record of the second group
    await raw.close();
    const store = await ReplicaStore.open(dir);
    try {
      const read = async () => {
        const out: number[] = [];
        for await (const r of store.inputs()) out.push(r[0]!);
        return out;
      };
      const refused = await read().catch((e: unknown) => e);
      expect((refused as StoreError).code).toBe('LOG_GAP');
      expect((refused as StoreError).message).toMatch(/misses records 3 to 3/);
      expect(await store.discardInputs()).toBe(5);
      expect(await read()).toEqual([]);
      expect(await store.safetyState()).toEqual(Uint8Array.of(9));
      expect(store.height).toBe(1);
    } finally {
      await store.close();
    }
  });

  test('a missing last record is a gap too', async () => {
    const dir = await filled();
    const raw = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.del(`wal/${String(4).padStart(16, '0')}`);
    await raw.close();
    const store = await ReplicaStore.open(dir);
    try {
      const refused = await (async () => {
        for await (const _ of store.inputs());
      })().catch((e: unknown) => e);
      expect((refused as StoreError).code).toBe('LOG_GAP');
    } finally {
      await store.close();
    }
  });

  test("flipped bytes in LevelDB's own log are found before opening (LevelDB would drop them and rewrite the store): CORRUPT, no file changed; a write cut off at the end is a crash, not damage", async () => {
    const dir = tmp();
    const store = await ReplicaStore.open(dir);
    // Large and small writes: records that span blocks (first, middle, last fragments) and whole ones.
    for (let i = 0; i < 40; i++) await store.write({ inputs: [new Uint8Array(i % 3 === 0 ? 50_000 : 300).fill(i)], safetyState: Uint8Array.of(i), blocks: [], sync: true });
    await store.close();
    const log = readdirSync(dir).find((f) => f.endsWith('.log'))!;
    const bytes = readFileSync(join(dir, log));
    expect(bytes.length).toBeGreaterThan(3 * 32 * 1024);
    expect(damagedLogRecord(bytes)).toBeUndefined();
    // Cut in the middle of the last record: what a crash leaves; LevelDB drops it, and so may we.
    expect(damagedLogRecord(bytes.subarray(0, bytes.length - 100))).toBeUndefined();
    const flipped = Uint8Array.from(bytes);
    for (let i = 40_000; i < 40_064; i++) flipped[i]! ^= 0x5a;
    writeFileSync(join(dir, log), flipped);
    const files = readdirSync(dir).map((f) => [f, statSync(join(dir, f)).size]);
    const refused = await ReplicaStore.open(dir).catch((e: unknown) => e);
    expect((refused as StoreError).code).toBe('CORRUPT');
    expect((refused as StoreError).message).toMatch(/LevelDB's log is damaged \(\d+\.log at byte \d+: checksum mismatch\)/);
    expect(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).size])).toEqual(files);
  });
});
