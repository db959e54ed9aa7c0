// npx nx run client:bench — what trusting nobody costs a client: proof sizes (receipt, account,
// commit certificate, a whole answer) and the time to verify one answer against the validator set,
// for n = 4 and n = 64 validators, with f+1 and 2f+1 attestations; and a replica's cost to sign one
// attestation and to check one. Real Ed25519 everywhere (the certificates come from simulated
// HotStuff runs signed with Ed25519). The last line is one JSON object.
import { createSignatureScheme, encode, sha256, toHex, type Signer } from '@bftx/crypto';
import { FinalityProofCodec, ValidatorSet } from '@bftx/consensus';
import { AccountProofCodec, AttestationCodec, Exchange, receiptProof, ReceiptProofCodec, signAttestation, signOrder, placeAction, verifyAttestations } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { Rng, simulate, synchronous } from '@bftx/sim';
import { resolveTrust, verifyAccountAnswer, verifyReceiptAnswer } from '../src/index';

const scheme = createSignatureScheme();
const SEED = 7;
const ITERATIONS = Number(process.env['BFTX_BENCH_ITERATIONS'] ?? 50);

/** The secret key the simulator gives validator i under `signatures: 'ed25519'` (its seedKey). */
function simKey(seed: number, i: number): Uint8Array {
  const r = new Rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
  return Uint8Array.from({ length: 32 }, () => r.int(0, 255));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const rows: Array<Record<string, number | string>> = [];
for (const n of [4, 64]) {
  // A commit certificate as a real cluster makes it: HotStuff, n validators, Ed25519.
  const run = simulate({ n, seed: SEED, protocol: hotstuff(), network: synchronous(10), timing: { delta: 10 }, duration: n === 4 ? 400 : 300, signatures: 'ed25519', trace: false });
  const sample = run.replicas[0]!.certificates.samples.at(-1);
  if (sample === undefined) throw new Error(`n = ${n}: the run committed nothing`);
  const signers: Signer[] = Array.from({ length: n }, (_, i) => scheme.signer(simKey(SEED, i)));
  const validators = new ValidatorSet(signers.map((s) => s.publicKey));
  // An exchange state at the certified height: a trader's account and one block's receipts.
  const trader = scheme.signer(new Uint8Array(32).fill(42));
  const others = Array.from({ length: 200 }, (_, i) => scheme.signer(Uint8Array.from({ length: 32 }, (_, k) => (i * 31 + k * 7 + 1) & 0xff)));
  const exchange = new Exchange(
    { assets: ['CASH', 'SHARE'], markets: [{ symbol: 'SHARE-CASH', base: 'SHARE', quote: 'CASH', tickSize: 1, lotSize: 1, maxOrderSize: 1_000 }], genesis: [trader, ...others].map((s) => ({ account: s.publicKey, balances: { CASH: 1_000_000n, SHARE: 1_000n } })), maxOrderLifetime: 1_000_000 },
    scheme,
  );
  for (let h = 1; h < sample.height; h++) exchange.apply({ height: h, proposer: 0, payload: [], timestamp: h });
  const validity = { cluster: new Uint8Array(32), expiresAt: sample.height + 10 };
  const payload = [signOrder(trader, 1, placeAction({ symbol: 'SHARE-CASH', clientId: 1, side: 'sell', price: 100, size: 5 }), validity), ...others.slice(0, 99).map((s, i) => signOrder(s, 1, placeAction({ symbol: 'SHARE-CASH', clientId: 1, side: i % 2 ? 'sell' : 'buy', price: 100, size: 1 }), validity))];
  const result = exchange.apply({ height: sample.height, proposer: 0, payload, timestamp: sample.height });
  const stateRoot = result.stateRoot;
  // What the certificate proves (and a check that the keys above are the run's).
  const proven = hotstuff().verifyCommit!(sample.certificate, validators, scheme);
  if (!proven.ok || proven.height !== sample.height) throw new Error(`n = ${n}: the sampled certificate does not verify against the derived keys (${proven.ok ? 'height' : proven.reason})`);
  const blockHash = proven.blockHash;
  const statement = { height: sample.height, blockHash, stateRoot };
  const attestations = signers.map((s, i) => signAttestation(s, i, statement));
  const finality = { hex: toHex(encode(FinalityProofCodec, { certificate: sample.certificate, headers: [] })) };
  const txId = toHex(sha256(payload[0]!));
  const receipt = { opening: result.opening, leaf: result.receiptLeaves[0]!, proof: receiptProof(result.receiptLeaves, 0) };
  const account = exchange.accountProof(toHex(trader.publicKey))!;
  for (const mode of ['f+1', '2f+1'] as const) {
    const trust = resolveTrust({ protocol: hotstuff(), validators: validators.publicKeys.map(toHex), attestations: mode, scheme });
    // A replica sends the attestations it holds: as many as the threshold (the API waits for f+1; more only cost the reader).
    const certification = { height: sample.height, blockHash: toHex(blockHash), stateRoot: toHex(stateRoot), finality, attestations: attestations.slice(0, trust.threshold).map((a) => ({ hex: toHex(encode(AttestationCodec, a)) })) };
    const receiptAnswer = { proof: { hex: toHex(encode(ReceiptProofCodec, receipt)) }, certification };
    const accountAnswer = { proof: { hex: toHex(encode(AccountProofCodec, account)) }, certification };
    verifyReceiptAnswer(trust, receiptAnswer, txId); // throws if anything is off: the bench measures what verifies
    verifyAccountAnswer(trust, accountAnswer, toHex(trader.publicKey));
    const receiptMs = median(Array.from({ length: ITERATIONS }, () => time(() => verifyReceiptAnswer(trust, receiptAnswer, txId))));
    const accountMs = median(Array.from({ length: ITERATIONS }, () => time(() => verifyAccountAnswer(trust, accountAnswer, toHex(trader.publicKey)))));
    rows.push({
      n,
      attestations: mode,
      certificateBytes: sample.certificate.length,
      receiptProofBytes: encode(ReceiptProofCodec, receipt).length,
      accountProofBytes: encode(AccountProofCodec, account).length,
      receiptAnswerJsonBytes: JSON.stringify(receiptAnswer).length,
      verifyReceiptMs: Math.round(receiptMs * 100) / 100,
      verifyAccountMs: Math.round(accountMs * 100) / 100,
    });
  }
  // The replica's side, per block: sign one attestation, check one received (it checks n - 1).
  const signMs = median(Array.from({ length: ITERATIONS }, (_, k) => time(() => signAttestation(signers[0]!, 0, { ...statement, height: statement.height + k }))));
  const checkMs = median(Array.from({ length: ITERATIONS }, () => time(() => verifyAttestations(validators, scheme, statement, [attestations[1]!], 1))));
  rows.push({ n, attestations: 'replica cost', signAttestationMs: Math.round(signMs * 1000) / 1000, checkOneAttestationMs: Math.round(checkMs * 1000) / 1000, checkPerBlockMs: Math.round(checkMs * (n - 1) * 100) / 100 });
}
for (const r of rows) console.log(Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  '));
console.log(JSON.stringify({ bench: 'client', iterations: ITERATIONS, rows }));
