// The runtime's drive loop with a stub protocol on one replica (no peers): what it makes durable,
// what it counts. Fast: no network, no consensus.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS, makeBlock, type Block, type Protocol, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput } from '@bftx/consensus';
import { codec, decode, encode } from '@bftx/crypto';
import { ReplicaNode, ReplicaStore } from '../src/index';
import { exchange, keys, orders, scheme, secrets, until } from './helpers';

type Stub = { readonly refuse: 'STALE' | 'RATE_LIMITED' | undefined; readonly conflict: boolean };
const Height = codec.uint();

/**
 * On each transaction batch: refuses it with `refuse` (if set), finalizes one more block holding
 * the batch and hands the runtime its whole chain again (blocks the ledger holds must not be
 * applied twice), persists its height; with `conflict`, the fourth batch finalizes another block
 * at height 1 (the ledger must refuse it and the replica stop).
 */
function stub(options: Stub): ProtocolDefinition<never> {
  return {
    name: 'stub',
    create(config): Protocol<never> {
      const chain: Block[] = [];
      let batches = config.safetyState === undefined ? 0 : decode(Height, config.safetyState);
      return {
        self: config.self,
        step(input: ProtocolInput<never>): ProtocolOutput<never>[] {
          if (input.type !== 'transactions') return [];
          const out: ProtocolOutput<never>[] = [];
          if (options.refuse !== undefined) out.push({ type: 'reject', code: options.refuse, kind: 'transactions' });
          batches++;
          if (options.conflict && batches === 4) return [...out, { type: 'commit', blocks: [makeBlock({ parent: GENESIS.hash, height: 1, view: 99, proposer: 0, payload: [] })] }];
          const parent = chain[chain.length - 1] ?? config.finalized?.at(config.finalized.height) ?? GENESIS;
          chain.push(makeBlock({ parent: parent.hash, height: parent.height + 1, view: batches, proposer: 0, payload: [...input.txs] }));
          out.push({ type: 'commit', blocks: [...chain] }, { type: 'persist', state: encode(Height, batches) });
          return out;
        },
      };
    },
    encodeMessage: () => new Uint8Array(0),
    decodeMessage: () => {
      throw new Error('no messages');
    },
    messageKind: () => 'none',
    votes: () => [],
    livenessBound: () => 0,
  };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function single(options: Stub, lines: Array<[string, Record<string, unknown>]> = []): Promise<ReplicaNode<never>> {
  const dir = mkdtempSync(join(tmpdir(), 'bftx-runtime-'));
  dirs.push(dir);
  const node = new ReplicaNode({
    protocol: stub(options),
    self: 0,
    validatorKeys: [keys[0]!],
    scheme,
    clientScheme: scheme,
    secretKey: secrets[0]!,
    timing: { delta: 50 },
    exchange,
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    peers: [undefined],
    log: (event, fields) => lines.push([event, fields]),
  });
  await node.start();
  return node;
}

test('each group: the finalized blocks new to the ledger stored, applied to the exchange and announced once (a block finalized again is not), the safety state written', async () => {
  const node = await single({ refuse: undefined, conflict: false });
  const announced: number[] = [];
  node.onFinalized((r) => announced.push(r.height));
  try {
    for (let i = 0; i < 5; i++) {
      node.submit(orders(1, i));
      await node.idle();
    }
    // The stub hands over its whole chain each time: every block once in the ledger, the exchange and the store.
    expect(node.ledger.height).toBe(5);
    expect(node.exchange.stateRoots).toHaveLength(5);
    expect(announced).toEqual([1, 2, 3, 4, 5]);
    expect(node.exchange.mempool.admitted).toBe(5);
    expect(await node.metrics.value('bftx_finalized_transactions_total')).toBe(5);
    expect(await node.metrics.value('bftx_safety_persists_total')).toBe(5);
  } finally {
    await node.stop();
  }
  const store = await ReplicaStore.open(node.options.dataDir);
  try {
    expect(store.height).toBe(5);
    expect(decode(Height, (await store.safetyState())!)).toBe(5);
    expect((await store.roots(1, 5)).length).toBe(5);
  } finally {
    await store.close();
  }
}, 20_000);

test('a block conflicting with a finalized one stops the replica, and nothing of its group is written', async () => {
  const node = await single({ refuse: undefined, conflict: true });
  try {
    for (let i = 0; i < 4; i++) {
      node.submit(orders(1, 10 + i));
      await node.idle();
    }
    expect(node.failure?.message).toMatch(/conflicts with finalized block/);
    expect(node.ledger.height).toBe(3);
  } finally {
    await node.stop();
  }
  const store = await ReplicaStore.open(node.options.dataDir);
  try {
    expect(store.height).toBe(3);
    expect(decode(Height, (await store.safetyState())!)).toBe(3);
  } finally {
    await store.close();
  }
}, 20_000);

test('the protocol\'s refusals are counted by code in bftx_protocol_rejected_total, and logged at most once per code in a while', async () => {
  const lines: Array<[string, Record<string, unknown>]> = [];
  const node = await single({ refuse: 'RATE_LIMITED', conflict: false }, lines);
  try {
    for (let i = 0; i < 30; i++) node.submit(orders(1, 100 + i));
    await until('every batch handled', async () => (await node.metrics.value('bftx_protocol_rejected_total', { code: 'RATE_LIMITED' })) === 30);
    expect(await node.metrics.value('bftx_protocol_rejected_total', { code: 'STALE' })).toBe(0);
    expect(await node.metrics.value('bftx_protocol_rejected_total')).toBe(30);
    const logged = lines.filter(([e]) => e === 'protocol-rejected');
    expect(logged).toEqual([['protocol-rejected', { code: 'RATE_LIMITED', kind: 'transactions' }]]);
    expect(node.failure).toBeUndefined();
  } finally {
    await node.stop();
  }
}, 20_000);
