// @bftx/client against four real replicas, some of whose answers lie. The client trusts only the
// validator keys: it places an order, learns its fill and checks its balance, each answer proven
// (commit certificate, f+1 execution attestations, Merkle proof). A lying replica in front of an
// honest one (an HTTP proxy that rewrites its answers) is caught with the error that names its lie,
// and the client takes the next replica's answer. Replays of executed, rejected and expired orders
// never execute.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { Client, ClientError, resolveTrust, verifyAccountAnswer, verifyReceiptAnswer, type ClientErrorCode } from '@bftx/client';
import type { ProtocolDefinition } from '@bftx/consensus';
import { decode, encode, fromHex, sha256, toHex } from '@bftx/crypto';
import { AccountLeafCodec, AccountProofCodec, expiryFrom, placeAction, ReceiptLeafCodec, ReceiptProofCodec, signOrder, type ExchangeConfig } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { ClientApi, type ReplicaNode } from '../src/index';
import { clients, cluster, exchange, keys, N, removeDataDirs, scheme, until } from './helpers';

const protocol = hotstuff() as ProtocolDefinition<any>;
const validators = keys.map(toHex);
// These replicas take orders for their own cluster id (clusterId(protocol, validators)), the one the client computes.
const { cluster: _default, ...ownCluster } = exchange;
const config: ExchangeConfig = ownCluster;

let nodes: ReplicaNode<any>[];
let apis: ClientApi[];
let urls: string[];
let liar: Server;
let liarUrl: string;
/** How the liar rewrites an answer (path, honest JSON) -> what it sends; identity when unset. */
let lie: ((path: string, honest: any) => any) | undefined;

beforeAll(async () => {
  nodes = await cluster(protocol, { exchange: config });
  await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
  apis = nodes.map((n) => new ClientApi(n, { host: '127.0.0.1', port: 0 }));
  urls = await Promise.all(apis.map(async (a) => `http://127.0.0.1:${await a.start()}`));
  // A replica that lies: replica 0's answers, rewritten by `lie`.
  liar = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(urls[0]! + req.url, { method: req.method, ...(req.method === 'POST' ? { body: Buffer.concat(chunks), headers: { 'content-type': String(req.headers['content-type']) } } : {}) });
      const text = await upstream.text();
      let body = text;
      if (lie !== undefined && upstream.status === 200 && req.method === 'GET') body = JSON.stringify(lie(req.url!, JSON.parse(text)));
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(body);
    })();
  });
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
  liarUrl = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
}, 30_000);

afterAll(async () => {
  await new Promise((r) => liar.close(r));
  await Promise.all(apis.map((a) => a.stop()));
  await Promise.all(nodes.map((n) => n.stop()));
  removeDataDirs();
});

const client = (replicas: readonly string[], extra: { validators?: readonly string[] } = {}) => new Client({ protocol: 'hotstuff', validators: extra.validators ?? validators, replicas, assets: exchange.assets });
const [maker, taker] = clients as [(typeof clients)[0], (typeof clients)[1]];

test('trusting only the validator keys: place an order, learn its fill, check the balance', async () => {
  const c = client(urls.slice(1));
  const rest = await c.placeOrder(maker, { symbol: 'SHARE-CASH', clientId: 1, side: 'sell', price: 100, size: 3 });
  expect(rest.receipt.status).toBe('executed');
  const before = await c.account(toHex(taker.publicKey));
  const fill = await c.placeOrder(taker, { symbol: 'SHARE-CASH', clientId: 1, side: 'buy', price: 100, size: 2, tif: 'IOC' });
  expect(fill.receipt.status).toBe('executed');
  expect(fill.receipt.trades.map((t) => [t.price, t.size, t.buyer])).toEqual([[100, 2, toHex(taker.publicKey)]]);
  expect(fill.receipt.certified.attesters.length).toBeGreaterThanOrEqual(2);
  const after = await c.account(toHex(taker.publicKey));
  expect(after.certified.height).toBeGreaterThanOrEqual(fill.receipt.certified.height);
  expect(after.balances!['SHARE']!.available - before.balances!['SHARE']!.available).toBe(2n);
  expect(after.nonce).toBe(fill.nonce);
  // The maker's resting remainder, proven by its account's leaf; the book shows it.
  const open = await c.order(toHex(maker.publicKey), 1);
  expect([open.side, open.price, open.remaining]).toEqual(['sell', 100, 1]);
  const book = await c.book('SHARE-CASH');
  expect(book.asks).toContainEqual({ price: 100, size: 1 });
  expect(book.operatorNonce).toBe(0); // proven with the state: no deposit or withdrawal yet
  const block = await c.block(fill.receipt.certified.height);
  expect(block.payload.map((tx) => toHex(sha256(tx)))).toContain(fill.id);
}, 60_000);

/** The error code a lie earns, both from the pure verifier and from a client that asks the liar first. */
async function caught(path: string, verify: (trust: ReturnType<typeof resolveTrust>, body: unknown) => unknown, how: (path: string, honest: any) => any): Promise<{ pure: ClientErrorCode | 'verified'; client: ClientErrorCode | undefined }> {
  lie = how;
  try {
    const body = await (await fetch(liarUrl + path)).json();
    let pure: ClientErrorCode | 'verified' = 'verified';
    try {
      verify(resolveTrust({ protocol: 'hotstuff', validators, assets: exchange.assets }), body);
    } catch (e) {
      if (!(e instanceof ClientError)) throw e;
      pure = e.code;
    }
    // A client asking the liar first still gets a verified answer, from the next replica, and keeps the liar's error.
    const c = client([liarUrl, urls[2]!]);
    await (path.startsWith('/v1/accounts/') ? c.account(path.split('/')[3]!) : c.receipt(path.split('/')[3]!));
    return { pure, client: c.rejections.get(liarUrl)?.code };
  } finally {
    lie = undefined;
  }
}

const rewriteProof = (answer: any, codec: typeof AccountProofCodec, change: (proof: any) => void) => {
  const proof = decode(codec, fromHex(answer.proof.hex)) as any;
  change(proof);
  return { ...answer, proof: { ...answer.proof, hex: toHex(encode(codec, proof)) } };
};

test('every kind of lie is caught with the error that names it', async () => {
  const c = client(urls.slice(1));
  const placed = await c.placeOrder(maker, { symbol: 'SHARE-CASH', clientId: 7, side: 'buy', price: 90, size: 1 });
  const other = await c.placeOrder(taker, { symbol: 'SHARE-CASH', clientId: 7, side: 'buy', price: 91, size: 1 });
  const receiptPath = `/v1/transactions/${placed.id}`;
  const accountPath = `/v1/accounts/${toHex(maker.publicKey)}`;
  const verifyReceipt = (t: any, b: unknown) => verifyReceiptAnswer(t, b, placed.id);
  const verifyAccount = (t: any, b: unknown) => verifyAccountAnswer(t, b, toHex(maker.publicKey));
  const results: Record<string, unknown> = {};

  // A forged receipt: "executed with a fill" where the block's receipt says otherwise.
  results['forged receipt'] = await caught(receiptPath, verifyReceipt, (_p, a) =>
    rewriteProof(a, ReceiptProofCodec, (p) => {
      const leaf = decode(ReceiptLeafCodec, p.leaf);
      p.leaf = encode(ReceiptLeafCodec, { ...leaf, trades: [{ price: 90, size: 1, makerOrderId: 1, takerOrderId: 2, buyer: maker.publicKey, seller: taker.publicKey, aggressor: 'buy', buyerFee: 0n, sellerFee: 0n }] } as any);
    }),
  );
  // An altered balance.
  results['altered balance'] = await caught(accountPath, verifyAccount, (_p, a) =>
    rewriteProof(a, AccountProofCodec, (p) => {
      const leaf = decode(AccountLeafCodec, p.leaf);
      p.leaf = encode(AccountLeafCodec, { ...leaf, available: leaf.available.map((x) => x + 1_000_000n) });
    }),
  );
  // A stale state root: an older height's root under this height's block and attestations.
  const old = (await (await fetch(`${urls[1]}/v1/blocks/1`)).json()) as any;
  results['stale state root'] = await caught(accountPath, verifyAccount, (_p, a) => ({ ...a, certification: { ...a.certification, stateRoot: old.certification.stateRoot } }));
  // A proof of the state at another height, under the current certification.
  const earlier = (await (await fetch(`${urls[1]}${accountPath}`)).json()) as any;
  await c.placeOrder(maker, { symbol: 'SHARE-CASH', clientId: 8, side: 'buy', price: 80, size: 1 }); // the state moves on
  results['proof for another height'] = await caught(accountPath, verifyAccount, (_p, a) => ({ ...a, proof: earlier.proof }));
  // A whole answer, true once, served again after the client has seen later heights.
  lie = () => earlier;
  const fresh = client([liarUrl, urls[2]!]);
  await fresh.block(earlier.certification.height + 2); // the client has now seen a later height
  await fresh.account(toHex(maker.publicKey));
  results['an old answer'] = fresh.rejections.get(liarUrl)?.code;
  lie = undefined;
  // Attestations withheld; the certificate withheld.
  results['attestations withheld'] = await caught(accountPath, verifyAccount, (_p, a) => ({ ...a, certification: { ...a.certification, attestations: a.certification.attestations.slice(0, 1) } }));
  results['certificate withheld'] = await caught(accountPath, verifyAccount, (_p, a) => ({ ...a, certification: { ...a.certification, finality: null } }));
  // The certificate of another block.
  const blockOne = old.certification;
  results['certificate of another block'] = await caught(accountPath, verifyAccount, (_p, a) => ({ ...a, certification: { ...a.certification, finality: blockOne.finality } }));

  expect(results).toEqual({
    'forged receipt': { pure: 'PROOF_INVALID', client: 'PROOF_INVALID' },
    'altered balance': { pure: 'PROOF_INVALID', client: 'PROOF_INVALID' },
    'stale state root': { pure: 'ATTESTATIONS_SHORT', client: 'ATTESTATIONS_SHORT' },
    'proof for another height': { pure: 'WRONG_HEIGHT', client: 'WRONG_HEIGHT' },
    'an old answer': 'STALE',
    'attestations withheld': { pure: 'ATTESTATIONS_SHORT', client: 'ATTESTATIONS_SHORT' },
    'certificate withheld': { pure: 'FINALITY_MISSING', client: 'FINALITY_MISSING' },
    'certificate of another block': { pure: 'WRONG_BLOCK', client: 'WRONG_BLOCK' },
  });
  // The other order's receipt, served for this one.
  const swapped = (await (await fetch(`${urls[1]}/v1/transactions/${other.id}`)).json()) as any;
  expect(await caught(receiptPath, verifyReceipt, () => swapped)).toEqual({ pure: 'WRONG_ITEM', client: 'WRONG_ITEM' });
  // A certificate from other validators: a client that trusts other keys refuses this cluster's every answer.
  const strangers = Array.from({ length: N }, (_, i) => toHex(scheme.publicKey(new Uint8Array(32).fill(200 + i))));
  const wrong = client([urls[1]!], { validators: strangers });
  const failure = await wrong.account(toHex(maker.publicKey)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(ClientError);
  expect((failure as ClientError).causes.map((x) => x.code)).toEqual(['CERTIFICATE_INVALID']);
}, 90_000);

test('replays: an executed, a rejected or an expired order never executes again', async () => {
  const c = client(urls.slice(1));
  const code = async (tx: Uint8Array) =>
    c.submit(tx).then(
      () => 'accepted',
      (e: ClientError) => [...new Set(e.causes.map((x) => x.reason))].join(','),
    );
  const account = await c.account(toHex(maker.publicKey));
  const validity = { cluster: c.trust.cluster, expiresAt: expiryFrom(account.certified.height) };
  // Two orders that each fit the funds, together not: offered at once, the second is rejected when executed.
  const cash = account.balances!['CASH']!.available;
  const size = Number(cash / 1_000n / 2n) + 1;
  const first = signOrder(maker, account.nonce + 1, placeAction({ symbol: 'SHARE-CASH', clientId: 21, side: 'buy', price: 1_000, size }), validity);
  const second = signOrder(maker, account.nonce + 2, placeAction({ symbol: 'SHARE-CASH', clientId: 22, side: 'buy', price: 1_000, size }), validity);
  const both = await Promise.all(urls.slice(1).map((u) => fetch(`${u}/v1/transactions`, { method: 'POST', body: JSON.stringify({ transactions: [toHex(first), toHex(second)] }), headers: { 'content-type': 'application/json' } })));
  expect(both.some((r) => r.ok)).toBe(true);
  const executed = await c.waitForReceipt(toHex(sha256(first)));
  const rejected = await c.waitForReceipt(toHex(sha256(second)));
  expect([executed.status, rejected.status, rejected.reason]).toEqual(['executed', 'rejected', 'INSUFFICIENT_FUNDS']);
  // The funds come back (the first is cancelled): the rejected order's bytes would now fit, and are refused.
  await c.placeOrder(maker, { action: 'cancel', symbol: 'SHARE-CASH', clientId: 21 });
  expect(await code(second)).toBe('STALE_NONCE');
  expect(await code(first)).toBe('STALE_NONCE');
  // Expired: good until a height already past.
  const now = (await c.account(toHex(maker.publicKey))).certified;
  const expired = signOrder(maker, (await c.account(toHex(maker.publicKey))).nonce + 1, placeAction({ symbol: 'SHARE-CASH', clientId: 23, side: 'buy', price: 1, size: 1 }), { cluster: c.trust.cluster, expiresAt: now.height - 1 });
  expect(await code(expired)).toBe('EXPIRED');
  // For another cluster.
  const foreign = signOrder(maker, (await c.account(toHex(maker.publicKey))).nonce + 1, placeAction({ symbol: 'SHARE-CASH', clientId: 24, side: 'buy', price: 1, size: 1 }), { cluster: new Uint8Array(32).fill(9), expiresAt: now.height + 10 });
  expect(await code(foreign)).toBe('WRONG_CLUSTER');
  // None of them is in any block after its first: the rejected one's receipt is the only one.
  expect((await c.receipt(toHex(sha256(second))))!.certified.height).toBe(rejected.certified.height);
}, 90_000);

test("the client README's example runs as written", async () => {
  const readme = readFileSync(resolve(__dirname, '../../client/README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  // Beside the workspace's node_modules, so '@bftx/client' resolves as it would for a user.
  const dir = resolve(__dirname, '../../../node_modules/.cache/bftx-client-readme');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'example.mts');
  writeFileSync(file, code);
  try {
    // Not spawnSync: the replicas answering it run in this process.
    const child = spawn(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', file], {
      // No colours (a CI runner may force them on): the output is compared as text.
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', BFTX_VALIDATORS: validators.join(','), BFTX_REPLICAS: urls.slice(1).join(','), BFTX_TRADER_KEY: toHex(new Uint8Array(32).fill(101)) },
    });
    const run = { stdout: '', stderr: '', status: -1 as number | null };
    child.stdout.on('data', (d: Buffer) => (run.stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (run.stderr += String(d)));
    run.status = await new Promise<number | null>((r) => child.on('close', r));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^executed \d+ fills at height \d+\n/);
    expect(run.stdout).toMatch(/CASH.*SHARE/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
