// Answers a client can check trusting only the validator keys: every GET of a block, a receipt, an
// account, an open order or the books carries its Merkle proof to a state root and the
// certification of that root (the commit certificate with the headers down to the block, and f+1
// execution attestations). Checked here with the pure verifiers of @bftx/consensus and
// @bftx/exchange, against the validator set alone, on four real replicas.
import { blockHash, BlockHeaderCodec, FinalityProofCodec, ValidatorSet, verifyFinality, type ProtocolDefinition } from '@bftx/consensus';
import { decode, fromHex, hash, merkleRoot, sha256, toHex } from '@bftx/crypto';
import { AccountProofCodec, BOOKS_DOMAIN, AttestationCodec, attestationThreshold, DEFAULT_CLUSTER, expiryFrom, placeAction, ReceiptProofCodec, signOrder, StateOpeningCodec, stateRootOf, verifyAccountProof, verifyAttestations, verifyReceiptProof } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ClientApi, clusterId, ReplicaNode } from '../src/index';
import { clients, cluster, exchange, keys, N, orders, removeDataDirs, scheme, until } from './helpers';

const protocol = hotstuff() as ProtocolDefinition<any>;
const validators = new ValidatorSet(keys);
const fPlus1 = attestationThreshold(validators, 'f+1');

let nodes: ReplicaNode<any>[];
let api: ClientApi;
let base: string;

beforeAll(async () => {
  // The helpers' exchange config names the default cluster id (zeros), as their orders carry.
  nodes = await cluster(protocol);
  await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
  api = new ClientApi(nodes[1]!, { host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${await api.start()}`;
}, 30_000);

afterAll(async () => {
  await api.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  removeDataDirs();
});

async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path);
  return { status: res.status, json: await res.json() };
}

/**
 * What a client checks of a certification, knowing only the validator set: the finality proof
 * proves block `blockHash` final at `height`, and f+1 attestations from distinct validators sign
 * (height, blockHash, stateRoot). Returns the state root it proves.
 */
function checkCertification(c: any, height: number, def: ProtocolDefinition<any> = protocol): Uint8Array {
  expect(c.height).toBe(height);
  const stateRoot = fromHex(c.stateRoot);
  const statement = { height, blockHash: fromHex(c.blockHash), stateRoot };
  const attestations = c.attestations.map((a: { hex: string }) => decode(AttestationCodec, fromHex(a.hex)));
  const verdict = verifyAttestations(validators, scheme, statement, attestations, fPlus1);
  expect(verdict.ok).toBe(true);
  expect(c.finality).not.toBeNull();
  const finality = verifyFinality(def, validators, scheme, decode(FinalityProofCodec, fromHex(c.finality.hex)));
  expect(finality).toMatchObject({ ok: true, height, blockHash: fromHex(c.blockHash) });
  return stateRoot;
}

test('a receipt, its block, the accounts, an open order and the books: each proof verifies against the validator set alone', async () => {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/stream`);
  const streamed: any[] = [];
  ws.on('message', (data) => streamed.push(JSON.parse(String(data))));
  await new Promise((resolve) => ws.once('open', resolve));
  // Two resting bids and an ask that takes one: one trade, one order left open.
  const txs = orders(3);
  for (const n of nodes) n.submit(txs);
  const ids = txs.map((tx) => toHex(sha256(tx)));
  await until('3 orders finalized on replica 1', () => nodes[1]!.ledger.chain.reduce((a, b) => a + b.payload.length, 0) >= 3);

  // The receipt of the taker: leaf in the receipts root of its height, the opening hashing to the certified root.
  // Served once its block is on disk, a moment after the ledger holds it.
  let r = await get(`/v1/transactions/${ids[1]}`);
  await until('the receipt served', async () => (r = await get(`/v1/transactions/${ids[1]}`)).status === 200);
  const root = checkCertification(r.json.certification, r.json.height);
  const receipt = verifyReceiptProof(root, decode(ReceiptProofCodec, fromHex(r.json.proof.hex)), ids[1]!);
  expect(receipt.ok).toBe(true);
  if (receipt.ok) expect(receipt.receipt).toMatchObject({ status: 'executed', height: r.json.height, index: r.json.index });
  // A forged receipt (one bit of the leaf) or another transaction's id does not verify.
  const forged = decode(ReceiptProofCodec, fromHex(r.json.proof.hex));
  forged.leaf[forged.leaf.length - 1]! ^= 1;
  expect(verifyReceiptProof(root, forged, ids[1]!).ok).toBe(false);
  expect(verifyReceiptProof(root, decode(ReceiptProofCodec, fromHex(r.json.proof.hex)), ids[0]!)).toMatchObject({ ok: false, reason: 'WRONG_ITEM' });

  // The block: its header hashes to the certified block hash, its transactions to the payload root.
  const b = await get(`/v1/blocks/${r.json.height}`);
  expect(b.status).toBe(200);
  checkCertification(b.json.certification, r.json.height);
  const header = decode(BlockHeaderCodec, fromHex(b.json.header));
  expect(toHex(blockHash(header))).toBe(b.json.certification.blockHash);
  expect(toHex(merkleRoot(b.json.transactions.map(fromHex)))).toBe(toHex(header.payloadRoot));
  expect(b.json.transactions).toContain(toHex(txs[1]!));

  // The account and its open order, at the latest height applied.
  const key = toHex(clients[0]!.publicKey);
  const a = await get(`/v1/accounts/${key}`);
  expect(a.status).toBe(200);
  const accountRoot = checkCertification(a.json.certification, a.json.height);
  const account = verifyAccountProof(accountRoot, decode(AccountProofCodec, fromHex(a.json.proof.hex)), key, exchange.assets);
  expect(account.ok).toBe(true);
  if (!account.ok) return;
  expect(account.account.height).toBe(a.json.height);
  expect(account.account.balances!['CASH']).toEqual({ available: BigInt(a.json.balances.CASH.available), reserved: BigInt(a.json.balances.CASH.reserved) });
  expect(account.account.nonce).toBe(a.json.nonce);
  // Client 0 placed orders 1 and 3 (bids at 100); one was taken by the ask: one open order left, client id 3 (or 1).
  const open = account.account.orders.map((o) => o.clientId);
  expect(open).toHaveLength(1);
  const o = await get(`/v1/accounts/${key}/orders/${open[0]}`);
  expect(o.status).toBe(200);
  const orderRoot = checkCertification(o.json.certification, o.json.height);
  const proven = verifyAccountProof(orderRoot, decode(AccountProofCodec, fromHex(o.json.proof.hex)), key);
  expect(proven.ok && proven.account.orders.find((x) => x.clientId === open[0])).toMatchObject({ clientId: o.json.order.clientId, remaining: o.json.order.remaining, side: 'buy' });
  expect((await get(`/v1/accounts/${key}/orders/999`)).json.error).toBe('NO_OPEN_ORDER');
  expect((await get(`/v1/accounts/${key}/orders/x`)).json.error).toBe('BAD_CLIENT_ID');
  // An altered balance does not verify.
  const altered = decode(AccountProofCodec, fromHex(a.json.proof.hex));
  altered.leaf[40]! ^= 1;
  expect(verifyAccountProof(accountRoot, altered, key).ok).toBe(false);

  // The books: their snapshot bytes hash to the opening's books part; the opening to the certified root.
  const book = await get('/v1/markets/SHARE-CASH/book');
  expect(book.status).toBe(200);
  const bookRoot = checkCertification(book.json.certification, book.json.height);
  const opening = decode(StateOpeningCodec, fromHex(book.json.opening.hex));
  expect(toHex(stateRootOf(opening))).toBe(toHex(bookRoot));
  expect(toHex(hash(BOOKS_DOMAIN, fromHex(book.json.books)))).toBe(toHex(opening.books));
  expect(book.json.bids).toEqual([{ price: 100, size: 1, orders: 1 }]);
  expect((await get('/v1/markets/NOPE/book')).json.error).toBe('UNKNOWN_MARKET');

  // The stream carries certificates with blocks and the attestations as they come.
  await until('attestations on the stream', () => streamed.filter((m) => m.type === 'attestation').length >= N);
  ws.close();
  const att = streamed.find((m) => m.type === 'attestation');
  const decoded = decode(AttestationCodec, fromHex(att.hex));
  expect(decoded.height).toBe(att.height);
  expect(streamed.some((m) => m.type === 'block' && typeof m.certificate === 'string')).toBe(true);
}, 60_000);

test('/v1/status names the cluster id signed orders must carry and the heights; an order signed for another cluster is refused', async () => {
  const s = await get('/v1/status');
  expect(s.json.cluster).toBe(toHex(DEFAULT_CLUSTER));
  expect(s.json.attestations).toBe(true);
  expect(s.json.appliedHeight).toBeGreaterThan(0);
  const res = await fetch(`${base}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transactions: [toHex(signOrder(clients[0]!, 1000, placeAction({ symbol: 'SHARE-CASH', clientId: 1000, side: 'buy', price: 1, size: 1 }), { cluster: new Uint8Array(32).fill(1), expiresAt: expiryFrom(s.json.height) }))] }),
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toBe('WRONG_CLUSTER');
});

test('a replica whose exchange config names no cluster id takes clusterId(protocol, validators): orders must carry it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bftx-node-cluster-'));
  const { cluster: _named, ...unnamed } = exchange;
  const node = new ReplicaNode({ ...nodes[0]!.options, exchange: unnamed, dataDir: join(dir, 'r'), listen: { host: '127.0.0.1', port: 0 }, peers: [] });
  await node.start();
  try {
    expect(toHex(node.cluster)).toBe(toHex(clusterId('hotstuff', validators)));
    const order = (cluster: Uint8Array) => signOrder(clients[0]!, 1, placeAction({ symbol: 'SHARE-CASH', clientId: 1, side: 'buy', price: 1, size: 1 }), { cluster, expiresAt: expiryFrom(0) });
    expect(node.exchange.admit(order(DEFAULT_CLUSTER), node.now())).toMatchObject({ ok: false, reason: 'WRONG_CLUSTER' });
    expect(node.exchange.admit(order(node.cluster), node.now())).toEqual({ ok: true });
    // Alone, it finalizes nothing: the genesis state has no certification, so no proof is served for it.
    const lone = new ClientApi(node, { host: '127.0.0.1', port: 0, attestationWaitMs: 100 });
    const url = `http://127.0.0.1:${await lone.start()}`;
    try {
      for (const path of [`/v1/accounts/${toHex(clients[0]!.publicKey)}`, `/v1/accounts/${toHex(clients[0]!.publicKey)}/orders/1`, '/v1/markets/SHARE-CASH/book']) {
        const res = await fetch(url + path);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: string }).error).toBe('NO_BLOCK_YET');
      }
      expect((await fetch(`${url}/v1/accounts/xyz`)).status).toBe(400);
    } finally {
      await lone.stop();
    }
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.each([
  ['streamlet', streamlet()],
  ['pbft', pbft()],
] as const)('%s: the certification of a block and a receipt verifies with its own verifyCommit', (_name, def) => {
  test('every height with a transaction: finality proof, f+1 attestations, receipt proof', async () => {
    const others = await cluster(def as ProtocolDefinition<any>);
    const server = new ClientApi(others[2]!, { host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${await server.start()}`;
    try {
      await until('connected', () => others.every((n) => n.connectedPeers().length === N - 1));
      const txs = orders(6);
      for (const n of others) n.submit(txs);
      await until('6 orders finalized on replica 2', () => others[2]!.ledger.chain.reduce((a, b) => a + b.payload.length, 0) >= 6);
      for (const tx of txs) {
        const id = toHex(sha256(tx));
        // Its receipt is served once its block is on disk, a moment after the ledger holds it.
        let r: any;
        await until(`the receipt of ${id.slice(0, 8)} on replica 2`, async () => (r = (await (await fetch(`${url}/v1/transactions/${id}`)).json()) as any).certification !== undefined);
        const root = checkCertification(r.certification, r.height, def as ProtocolDefinition<any>);
        expect(verifyReceiptProof(root, decode(ReceiptProofCodec, fromHex(r.proof.hex)), id).ok).toBe(true);
      }
    } finally {
      await server.stop();
      await Promise.all(others.map((n) => n.stop()));
    }
  }, 60_000);
});
