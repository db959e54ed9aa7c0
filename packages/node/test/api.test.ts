// The client API of a replica in a four-replica cluster: submit signed orders over HTTP, read what
// was finalized, stream blocks and trades over WebSocket; malformed requests get a 4xx and change nothing.
import type { ProtocolDefinition } from '@bftx/consensus';
import { sha256, toHex } from '@bftx/crypto';
import { DEFAULT_CLUSTER, expiryFrom, placeAction, signOrder } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { ClientApi, clientOf, encodeFrame, type ReplicaNode } from '../src/index';
import { clients, cluster, N, orders, removeDataDirs, scheme, until } from './helpers';

let nodes: ReplicaNode<any>[];
let api: ClientApi;
let base: string;

beforeAll(async () => {
  nodes = await cluster(hotstuff() as ProtocolDefinition<any>);
  await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
  api = new ClientApi(nodes[0]!, { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024 });
  base = `http://127.0.0.1:${await api.start()}`;
}, 30_000);

afterAll(async () => {
  await api.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  removeDataDirs();
});

async function call(method: string, path: string, body?: string | Uint8Array, type = 'application/json'): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, ...(body !== undefined ? { body, headers: { 'content-type': type } } : {}) });
  const text = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}

test('orders submitted over HTTP are finalized, streamed, and visible in the book, the accounts and the blocks', async () => {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/stream`);
  const streamed: any[] = [];
  ws.on('message', (data) => streamed.push(JSON.parse(String(data))));
  await new Promise((resolve) => ws.once('open', resolve));
  // A resting ask, then bids: one crosses it, one rests.
  const txs = orders(4).map(toHex);
  const submitted = await call('POST', '/v1/transactions', JSON.stringify({ transactions: txs }));
  expect(submitted.status).toBe(202);
  // Each transaction is named by the SHA-256 of its bytes, in the answer and in the stream.
  const ids = orders(4).map((tx) => toHex(sha256(tx)));
  expect(submitted.json.accepted).toEqual(ids);
  await until('4 transactions finalized on replica 0', () => nodes[0]!.ledger.chain.reduce((a, b) => a + b.payload.length, 0) >= 4);
  await until('the stream to carry the trades', () => streamed.filter((m) => m.type === 'trade').length >= 2);
  ws.close();
  expect(streamed[0]).toMatchObject({ type: 'hello', replica: 0 });
  const blockMessages = streamed.filter((m) => m.type === 'block');
  expect(blockMessages.length).toBeGreaterThan(0);
  expect(streamed.find((m) => m.type === 'trade')).toMatchObject({ symbol: 'SHARE-CASH', price: 100, size: 1 });
  expect(blockMessages.flatMap((m) => m.transactions).sort()).toEqual([...ids].sort());

  const status = await call('GET', '/v1/status');
  expect(status.status).toBe(200);
  expect(status.json).toMatchObject({ replica: 0, protocol: 'hotstuff' });
  expect(status.json.height).toBeGreaterThanOrEqual(1);
  expect(status.json.stateRoot).toBe(nodes[0]!.exchange.stateRoots[status.json.height - 1]);

  const last = blockMessages[blockMessages.length - 1];
  const block = await call('GET', `/v1/blocks/${last.height}`);
  expect(block.status).toBe(200);
  expect(block.json).toMatchObject({ height: last.height, id: last.id, stateRoot: last.stateRoot });

  // Each transaction's fate: its block and the exchange's receipt.
  const receipt = await call('GET', `/v1/transactions/${ids[1]}`);
  expect(receipt.status).toBe(200);
  expect(receipt.json).toMatchObject({ id: ids[1], receipt: { status: 'executed' } });
  expect(receipt.json.height).toBeGreaterThanOrEqual(1);
  // Anyone can copy a final transaction's bytes from a block and post them: refused, and its receipt stays.
  const again = await call('POST', '/v1/transactions', JSON.stringify({ transactions: [txs[1]] }));
  expect(again.status).toBe(400);
  expect(again.json.error).toBe('STALE_NONCE');
  expect((await call('GET', `/v1/transactions/${ids[1]}`)).json).toMatchObject({ receipt: { status: 'executed' } });
  // An order from an account that holds nothing takes no block space.
  const stranger = signOrder(scheme.signer(new Uint8Array(32).fill(77)), 1, placeAction({ symbol: 'SHARE-CASH', clientId: 1, side: 'buy', price: 1, size: 1 }), { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(0) });
  expect((await call('POST', '/v1/transactions', JSON.stringify({ transactions: [toHex(stranger)] }))).json.error).toBe('UNKNOWN_ACCOUNT');

  const account = await call('GET', `/v1/accounts/${toHex(clients[0]!.publicKey)}`);
  expect(account.status).toBe(200);
  expect(account.json.nonce).toBe(2);
  expect(BigInt(account.json.balances.SHARE.available)).toBeGreaterThan(1_000n); // client 0 bought

  const l2 = await call('GET', '/v1/markets/SHARE-CASH/l2?depth=5');
  expect(l2.status).toBe(200);
  expect(l2.json).toHaveProperty('bids');
  const l1 = await call('GET', '/v1/markets/SHARE-CASH/l1');
  expect(l1.status).toBe(200);

  const metrics = await call('GET', '/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.json).toMatch(/bftx_finalized_height\{replica="0",protocol="hotstuff"\} [1-9]/);
}, 30_000);

describe('malformed requests: 4xx with a reason, nothing offered to the mempool', () => {
  const forged = () => {
    const tx = orders(1, 500)[0]!;
    tx[tx.length - 1]! ^= 1; // breaks the client signature
    return toHex(tx);
  };
  test.each([
    ['an unknown route', 'GET', '/v1/nothing', undefined, undefined, 404, 'NOT_FOUND'],
    ['a body that is not JSON', 'POST', '/v1/transactions', '{"transactions": [', undefined, 400, 'MALFORMED_JSON'],
    ['a body that is not declared JSON', 'POST', '/v1/transactions', '{}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a body over the limit', 'POST', '/v1/transactions', JSON.stringify({ transactions: ['00'.repeat(40_000)] }), undefined, 413, 'BODY_TOO_LARGE'],
    ['no transactions', 'POST', '/v1/transactions', '{"transactions": []}', undefined, 400, 'BAD_REQUEST'],
    ['a transaction that is not hex', 'POST', '/v1/transactions', '{"transactions": ["zz"]}', undefined, 400, 'BAD_TRANSACTION'],
    ['a transaction that does not decode', 'POST', '/v1/transactions', '{"transactions": ["0102"]}', undefined, 400, 'MALFORMED'],
    ['a transaction with a bad signature', 'POST', '/v1/transactions', () => JSON.stringify({ transactions: [forged()] }), undefined, 400, 'BAD_SIGNATURE'],
    ['a binary body that ends inside a transaction', 'POST', '/v1/transactions', () => encodeFrame(orders(1, 700)[0]!).subarray(0, 20), 'application/octet-stream', 400, 'BAD_TRANSACTION'],
    ['a binary body with an empty transaction', 'POST', '/v1/transactions', () => Uint8Array.of(0, 0, 0, 0), 'application/octet-stream', 400, 'BAD_TRANSACTION'],
    ['a height that is not a number', 'GET', '/v1/blocks/abc', undefined, undefined, 400, 'BAD_HEIGHT'],
    ['a height not finalized yet', 'GET', '/v1/blocks/999999', undefined, undefined, 404, 'NOT_FINALIZED'],
    ['a transaction id that is not one', 'GET', '/v1/transactions/xyz', undefined, undefined, 400, 'BAD_TRANSACTION_ID'],
    ['a transaction never finalized', 'GET', `/v1/transactions/${'cd'.repeat(32)}`, undefined, undefined, 404, 'NOT_FINALIZED'],
    ['an account that is not a key', 'GET', '/v1/accounts/1234', undefined, undefined, 400, 'BAD_ACCOUNT'],
    ['an account that does not exist', 'GET', `/v1/accounts/${'ab'.repeat(32)}`, undefined, undefined, 404, 'UNKNOWN_ACCOUNT'],
    ['a market that does not exist', 'GET', '/v1/markets/NOPE/l1', undefined, undefined, 404, 'UNKNOWN_MARKET'],
    ['a depth out of range', 'GET', '/v1/markets/SHARE-CASH/l2?depth=0', undefined, undefined, 400, 'BAD_DEPTH'],
    ['a malformed percent-encoding', 'GET', '/v1/markets/%E0%A4%A/l1', undefined, undefined, 400, 'BAD_ENCODING'],
    ['a known path with the wrong method', 'DELETE', '/v1/status', undefined, undefined, 405, 'METHOD_NOT_ALLOWED'],
    ['a GET of the submission path', 'GET', '/v1/transactions', undefined, undefined, 405, 'METHOD_NOT_ALLOWED'],
  ] as const)('%s', async (_what, method, path, body, type, status, code) => {
    const before = { ...nodes[0]!.exchange.mempool };
    const res = await call(method, path, typeof body === 'function' ? body() : body, type);
    expect(res.status).toBe(status);
    expect(res.json.error).toBe(code);
    expect(typeof res.json.reason).toBe('string');
    expect(nodes[0]!.exchange.mempool.admitted).toBe(before.admitted);
  });

  test('every refusal is counted in /metrics by its code; /v1/evidence lists none in an honest cluster', async () => {
    await call('GET', '/v1/markets/%E0%A4%A/l1');
    const metrics = (await call('GET', '/metrics')).json as string;
    expect(metrics).toMatch(/bftx_api_refused_total\{code="BAD_ENCODING"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/bftx_api_refused_total\{code="METHOD_NOT_ALLOWED"[^}]*\} [1-9]/);
    expect(await call('GET', '/v1/evidence')).toEqual({ status: 200, json: { evidence: [] } });
  });

  test('a binary submission (length-prefixed transactions) is taken like the JSON one', async () => {
    const txs = orders(2, 800);
    const body = new Uint8Array(txs.reduce((a, t) => a + 4 + t.length, 0));
    let at = 0;
    for (const t of txs) {
      body.set(encodeFrame(t), at);
      at += 4 + t.length;
    }
    const res = await call('POST', '/v1/transactions', body, 'application/octet-stream');
    expect(res.status).toBe(202);
    expect(res.json.accepted).toEqual(txs.map((t) => toHex(sha256(t))));
  });

  test('one bad transaction in a batch refuses the whole batch', async () => {
    await nodes[0]!.idle(); // what earlier tests submitted is counted before we look
    const before = nodes[0]!.exchange.mempool.admitted;
    const res = await call('POST', '/v1/transactions', JSON.stringify({ transactions: [toHex(orders(1, 600)[0]!), forged()] }));
    expect(res.status).toBe(400);
    expect(res.json.reason).toMatch(/transactions\[1\]/);
    await nodes[0]!.idle();
    expect(nodes[0]!.exchange.mempool.admitted).toBe(before);
  });
});

describe('slow and many clients cannot hold the API', () => {
  let guarded: ClientApi;
  let port: number;
  beforeAll(async () => {
    guarded = new ClientApi(nodes[1]!, { host: '127.0.0.1', port: 0, requestTimeoutMs: 600, headersTimeoutMs: 400, maxConnectionsPerClient: 4 });
    port = await guarded.start();
  });
  afterAll(() => guarded.stop());

  const open = async () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    return s;
  };

  test('a body that trickles is cut off at the request timeout (408), not held for Node\'s default 300 s', async () => {
    const s = await open();
    let answer = '';
    s.on('data', (d) => (answer += String(d)));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const began = Date.now();
    s.write('POST /v1/transactions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{"tr');
    const trickle = setInterval(() => s.write('a'), 100);
    await closed;
    clearInterval(trickle);
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  test('headers that never end are cut off too', async () => {
    const s = await open();
    s.resume();
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const began = Date.now();
    s.write('GET /v1/status HTTP/1.1\r\nx-slow: ');
    await closed;
    expect(Date.now() - began).toBeLessThan(3_000);
  });

  test('block streams are capped per client (they outlive the request timeouts); the extra one is refused and counted', async () => {
    const capped = new ClientApi(nodes[1]!, { host: '127.0.0.1', port: 0, maxStreamsPerClient: 2 });
    const p = await capped.start();
    const before = await nodes[1]!.metrics.value('bftx_api_refused_total', { code: 'STREAM_LIMIT' });
    const open = () =>
      new Promise<'open' | 'refused'>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${p}/v1/stream`);
        ws.once('open', () => resolve('open'));
        ws.once('error', () => resolve('refused'));
      });
    try {
      expect([await open(), await open(), await open()]).toEqual(['open', 'open', 'refused']);
      expect((await nodes[1]!.metrics.value('bftx_api_refused_total', { code: 'STREAM_LIMIT' })) - before).toBe(1);
    } finally {
      await capped.stop();
    }
  });

  test('a client is an IPv4 address or an IPv6 /64', () => {
    expect(clientOf('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientOf('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
  });

  test('connections over the per-client cap are closed at once and counted; the ones within it are served', async () => {
    const before = await nodes[1]!.metrics.value('bftx_api_refused_total', { code: 'CONNECTION_LIMIT' });
    const sockets = await Promise.all(Array.from({ length: 10 }, open));
    const closed = sockets.map(() => false);
    sockets.forEach((s, i) => s.once('close', () => (closed[i] = true)));
    try {
      await until('the extra connections closed', () => closed.filter((c) => c).length === 6, 3_000);
      expect((await nodes[1]!.metrics.value('bftx_api_refused_total', { code: 'CONNECTION_LIMIT' })) - before).toBe(6);
    } finally {
      sockets.forEach((s) => s.destroy());
    }
    await until('their places free', async () => (await fetch(`http://127.0.0.1:${port}/v1/status`).then((r) => r.status, () => 0)) === 200, 3_000);
  });
});

