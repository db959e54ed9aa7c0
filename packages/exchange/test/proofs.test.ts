import { decode, encode, merkleRoot, sha256, toHex } from '@bftx/crypto';
import {
  AccountLeafCodec,
  AccountProofCodec,
  Exchange,
  ReceiptLeafCodec,
  receiptProof,
  ReceiptProofCodec,
  stateRootOf,
  verifyAccountProof,
  verifyReceiptProof,
  type AccountProof,
  type ExchangeBlock,
  type ReceiptProof,
} from '../src/index';
import { client, Client, config, deposit, MARKET, scheme } from './helpers';

const block = (height: number, payload: Uint8Array[]): ExchangeBlock => ({ height, proposer: 0, payload, timestamp: height });
const flip = (b: Uint8Array, at = 0) => {
  const c = b.slice();
  c[at % c.length]! ^= 1;
  return c;
};

describe.each(['continuous', 'batch'] as const)('state proofs (%s market)', (matching) => {
  const cfg = config({ markets: [{ ...MARKET, matching }] });
  const setup = () => {
    const x = new Exchange(cfg, scheme);
    const [a, b, c] = [1, 2, 3].map((i) => new Client(client(i)));
    const stranger = new Client(client(50));
    const first = x.apply(block(1, [a!.place({ clientId: 1, side: 'sell', price: 100, size: 10 }), a!.place({ clientId: 2, side: 'buy', price: 90, size: 3 })]));
    const txs = [b!.place({ clientId: 7, side: 'buy', price: 101, size: 4 }), stranger.place({ clientId: 1, side: 'buy', price: 100, size: 1 }), c!.cancel(9), deposit(c!.signer, 'BTC', 5n)];
    const second = x.apply(block(2, txs));
    return { x, a: a!, b: b!, c: c!, stranger, first, second, txs };
  };

  test('every account has a proof against the current root that shows its nonce, balances and live orders with what remains', () => {
    const { x, a, second } = setup();
    expect(toHex(x.stateRoot())).toBe(toHex(second.stateRoot));
    expect(toHex(stateRootOf(second.opening))).toBe(toHex(second.stateRoot));
    for (const key of x.accountKeys) {
      const p = x.accountProof(key)!;
      const r = verifyAccountProof(second.stateRoot, p, key, cfg.assets);
      if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
      const view = x.accountView(key)!;
      expect(r.account.key).toBe(key);
      expect(r.account.height).toBe(2);
      expect(r.account.nonce).toBe(view.nonce);
      expect(r.account.balances).toEqual(view.balances);
      expect(r.account.orders.map((o) => [o.clientId, o.id])).toEqual([...view.openOrders].sort((p, q) => p[0] - q[0]));
      for (const o of r.account.orders) expect(o.remaining).toBe(x.book.order(o.id)!.remaining);
      // The wire encoding round-trips and still verifies.
      const wire = decode(AccountProofCodec, encode(AccountProofCodec, p));
      expect(verifyAccountProof(second.stateRoot, wire, key).ok).toBe(true);
    }
    // a's sell of 10 gave 4 to b: 6 remain of it.
    const mine = verifyAccountProof(second.stateRoot, x.accountProof(a.key)!, a.key);
    expect(mine.ok && mine.account.orders.find((o) => o.clientId === 1)?.remaining).toBe(6);
    expect(x.accountProof(toHex(client(77).publicKey))).toBeUndefined();
  });

  test('every receipt of a block has a proof that shows its outcome and fills', () => {
    const { second, txs, b } = setup();
    expect(second.receiptLeaves).toHaveLength(txs.length);
    expect(toHex(merkleRoot(second.receiptLeaves))).toBe(toHex(second.opening.receipts));
    txs.forEach((tx, i) => {
      const p: ReceiptProof = { opening: second.opening, leaf: second.receiptLeaves[i]!, proof: receiptProof(second.receiptLeaves, i) };
      const r = verifyReceiptProof(second.stateRoot, decode(ReceiptProofCodec, encode(ReceiptProofCodec, p)), sha256(tx));
      if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
      const receipt = second.receipts[i]!;
      expect(r.receipt).toMatchObject({ tx: toHex(sha256(tx)), height: 2, index: i, status: receipt.status, reason: receipt.status === 'rejected' ? receipt.reason : '' });
      if (receipt.account !== undefined) expect(r.receipt.account).toBe(receipt.account);
      if (receipt.status === 'executed') expect(r.receipt.trades.map((t) => [t.price, t.size, t.buyer, t.seller, t.buyerFee, t.sellerFee])).toEqual(receipt.trades.map((t) => [t.price, t.size, t.buyer, t.seller, t.buyerFee, t.sellerFee]));
    });
    // b's buy of 4 at up to 101 took 4 at 100 from a's sell; the stranger's and the cancel were rejected.
    const leaves = second.receiptLeaves.map((l) => decode(ReceiptLeafCodec, l));
    expect(leaves.map((l) => l.reason)).toEqual(['', 'INSUFFICIENT_FUNDS', 'UNKNOWN_ORDER', '']);
    expect(toHex(leaves[0]!.account)).toBe(b.key);
    expect(leaves[0]!.trades.map((t) => [t.price, t.size])).toEqual([[100, 4]]);
    expect(leaves[0]!.orderId).toBeGreaterThan(0);
  });

  test('a proof fails with a typed reason when anything is off', () => {
    const { x, a, b, second, txs, first } = setup();
    const p = x.accountProof(a.key)!;
    const root = second.stateRoot;
    const failure = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);
    expect(failure(verifyAccountProof(root, p, a.key))).toBe('ok');
    // Another root (an earlier state): the opening does not hash to it.
    expect(failure(verifyAccountProof(first.stateRoot, p, a.key))).toBe('OPENING_MISMATCH');
    for (const part of ['header', 'accounts', 'books', 'receipts'] as const) expect(failure(verifyAccountProof(root, { ...p, opening: { ...p.opening, [part]: flip(p.opening[part]) } }, a.key))).toBe('OPENING_MISMATCH');
    // A changed leaf (more money) or path: not in the tree.
    const leaf = decode(AccountLeafCodec, p.leaf);
    const richer = encode(AccountLeafCodec, { ...leaf, available: leaf.available.map((v) => v + 1n) });
    expect(failure(verifyAccountProof(root, { ...p, leaf: richer }, a.key))).toBe('NOT_IN_TREE');
    expect(failure(verifyAccountProof(root, { ...p, proof: { ...p.proof, siblings: p.proof.siblings.map((s) => flip(s)) } }, a.key))).toBe('NOT_IN_TREE');
    expect(failure(verifyAccountProof(root, { ...p, proof: { ...p.proof, index: p.proof.index + 1 } }, a.key))).toBe('NOT_IN_TREE');
    // A valid proof of another account.
    expect(failure(verifyAccountProof(root, x.accountProof(b.key)!, a.key))).toBe('WRONG_ITEM');
    // Garbage.
    expect(failure(verifyAccountProof(root, { ...p, opening: { ...p.opening, accounts: new Uint8Array(3) } }, a.key))).toBe('MALFORMED');
    expect(failure(verifyAccountProof(root, p, 'xyz'))).toBe('MALFORMED');
    expect(failure(verifyAccountProof(root, p, a.key, ['USD']))).toBe('MALFORMED');
    expect(failure(verifyAccountProof(root, null as unknown as AccountProof, a.key))).toBe('MALFORMED');

    const rp: ReceiptProof = { opening: second.opening, leaf: second.receiptLeaves[0]!, proof: receiptProof(second.receiptLeaves, 0) };
    const id = sha256(txs[0]!);
    expect(failure(verifyReceiptProof(root, rp, id))).toBe('ok');
    expect(failure(verifyReceiptProof(first.stateRoot, rp, id))).toBe('OPENING_MISMATCH');
    expect(failure(verifyReceiptProof(root, { ...rp, leaf: second.receiptLeaves[1]! }, id))).toBe('NOT_IN_TREE');
    expect(failure(verifyReceiptProof(root, rp, sha256(txs[1]!)))).toBe('WRONG_ITEM');
    // An account proof's path is not a receipt's: the account leaf is not in the receipts tree.
    expect(failure(verifyReceiptProof(root, p, id))).toBe('NOT_IN_TREE');
    expect(failure(verifyReceiptProof(root, rp, '00'))).toBe('MALFORMED');
  });

  test('an empty block commits to the empty receipts root; restore keeps the opening and the proofs', () => {
    const { x, a } = setup();
    const empty = x.apply(block(3, []));
    expect(empty.receiptLeaves).toEqual([]);
    expect(toHex(empty.opening.receipts)).toBe(toHex(merkleRoot([])));
    const y = Exchange.restore(cfg, scheme, x.snapshot());
    expect(y.stateOpening()).toEqual(x.stateOpening());
    expect(y.lastHeight).toBe(3);
    const r = verifyAccountProof(empty.stateRoot, y.accountProof(a.key)!, a.key);
    expect(r.ok).toBe(true);
    // And they go on alike.
    const next = [new Client(client(3)).place({ clientId: 1, side: 'buy', price: 100, size: 2 })];
    expect(y.apply(block(4, next))).toEqual(x.apply(block(4, next)));
  });
});
