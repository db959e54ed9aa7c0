// Checks an answer of a replica's API against the validator set alone. A replica's JSON is read
// only for the canonical bytes it carries (the `hex` of each proof part); every field the caller
// gets back comes out of a verified proof, never from the replica's own words.
import { bytesEqual, decode, fromHex, hash, merkleRoot, toHex, type Codec } from '@bftx/crypto';
import { blockHash as hashOfHeader, BlockHeaderCodec, FinalityProofCodec, verifyFinality, type BlockHeader, type FinalityProof } from '@bftx/consensus';
import {
  AccountProofCodec,
  BOOKS_DOMAIN,
  AttestationCodec,
  ReceiptProofCodec,
  RootHeaderCodec,
  StateOpeningCodec,
  stateRootOf,
  verifyAccountProof,
  verifyAttestations,
  verifyReceiptProof,
  type AccountProof,
  type Attestation,
  type ProofFailure,
  type ProvenAccount,
  type ProvenOrder,
  type ProvenReceipt,
  type ReceiptProof,
  type StateOpening,
} from '@bftx/exchange';
import { MatchingEngine } from '@bftx/matching-engine';
import { ClientError, type ClientErrorCode } from './errors';
import type { Trust } from './trust';


/** What the API sends to prove the state after a height (see the node README's API reference). */
export interface CertificationJson {
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  readonly finality: { readonly hex: string } | null;
  readonly attestations: readonly { readonly hex: string }[];
}

/** A height whose block is final and whose state root f+1 (or 2f+1) validators attested. */
export interface Certified {
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
  /** The validators whose attestations counted. */
  readonly attesters: readonly number[];
}

export type VerifiedReceipt = ProvenReceipt & { readonly certified: Certified };
export type VerifiedAccount = ProvenAccount & { readonly certified: Certified };
export type VerifiedOrder = ProvenOrder & { readonly account: string; readonly certified: Certified };
export interface VerifiedBlock {
  readonly header: BlockHeader;
  /** The block's payload, in order (under fair ordering, receive logs first). */
  readonly payload: readonly Uint8Array[];
  readonly certified: Certified;
}
export interface VerifiedBook {
  readonly symbol: string;
  readonly bids: ReadonlyArray<{ readonly price: number; readonly size: number }>;
  readonly asks: ReadonlyArray<{ readonly price: number; readonly size: number }>;
  /** The nonce of the operator's last deposit or withdrawal at that height (from the proven state): the next one must be above it. */
  readonly operatorNonce: number;
  readonly certified: Certified;
}

const fail = (code: ClientErrorCode, message: string): never => {
  throw new ClientError(code, message);
};

function bytesOf(hex: unknown, what: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return fail('MALFORMED_ANSWER', `${what}: expected hex`);
  return fromHex(hex);
}

function decoded<T>(c: Codec<T>, hex: unknown, what: string): T {
  const bytes = bytesOf(hex, what);
  try {
    return decode(c, bytes);
  } catch (e) {
    return fail('MALFORMED_ANSWER', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function field<T>(o: unknown, key: string): T {
  if (typeof o !== 'object' || o === null || !(key in o)) return fail('MALFORMED_ANSWER', `missing ${key}`);
  return (o as Record<string, T>)[key]!;
}

/**
 * Checks a certification: the finality proof (a commit certificate and the headers down to the
 * height) names the block the answer claims at that height, and at least `trust.threshold`
 * validators attested (height, block, state root). Returns the certified height.
 */
export function verifyCertification(trust: Trust, c: CertificationJson): Certified {
  const height = field<number>(c, 'height');
  if (!Number.isSafeInteger(height) || height < 1) fail('MALFORMED_ANSWER', 'certification.height must be a positive integer');
  const blockHash = bytesOf(field(c, 'blockHash'), 'certification.blockHash');
  const stateRoot = bytesOf(field(c, 'stateRoot'), 'certification.stateRoot');
  const finality = field<{ hex: string } | null>(c, 'finality');
  if (finality === null) fail('FINALITY_MISSING', `no commit certificate for height ${height} yet`);
  const proof = decoded<FinalityProof>(FinalityProofCodec, field(finality, 'hex'), 'certification.finality');
  const check = verifyFinality(trust.protocol, trust.validators, trust.scheme, proof);
  if (!check.ok) fail('CERTIFICATE_INVALID', check.reason);
  if (check.ok && (check.height !== height || !bytesEqual(check.blockHash, blockHash))) fail('WRONG_BLOCK', `the certificate proves block ${toHex(check.blockHash).slice(0, 12)} at height ${check.height}, the answer claims ${toHex(blockHash).slice(0, 12)} at ${height}`);
  const items = field<readonly { hex: string }[]>(c, 'attestations');
  if (!Array.isArray(items)) fail('MALFORMED_ANSWER', 'certification.attestations must be an array');
  const attestations = items.map((a, i) => decoded<Attestation>(AttestationCodec, field(a, 'hex'), `attestation ${i}`));
  const counted = verifyAttestations(trust.validators, trust.scheme, { height, blockHash, stateRoot }, attestations, trust.threshold);
  if (!counted.ok) fail('ATTESTATIONS_SHORT', counted.reason);
  return { height, blockHash: toHex(blockHash), stateRoot: toHex(stateRoot), attesters: counted.ok ? counted.signers : [] };
}

const PROOF_CODES: Record<ProofFailure, ClientErrorCode> = { OPENING_MISMATCH: 'OPENING_MISMATCH', NOT_IN_TREE: 'PROOF_INVALID', WRONG_ITEM: 'WRONG_ITEM', MALFORMED: 'MALFORMED_ANSWER' };

/** The height a state opening is at (its header says), checked against the certified one first. */
function checkOpeningHeight(opening: StateOpening, certified: Certified): void {
  let at: number;
  try {
    at = decode(RootHeaderCodec, opening.header).height;
  } catch (e) {
    return fail('MALFORMED_ANSWER', `opening header: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (at !== certified.height) fail('WRONG_HEIGHT', `the proof is of the state at height ${at}, the certification of height ${certified.height}`);
}

function requireHeight(certified: Certified, minHeight: number | undefined): void {
  if (minHeight !== undefined && certified.height < minHeight) fail('STALE', `the answer is about height ${certified.height}, at least ${minHeight} was asked for`);
}

/** Checks a `GET /v1/transactions/:id` answer: the receipt of `txId` in a final block, under an attested state root. */
export function verifyReceiptAnswer(trust: Trust, answer: unknown, txId: string): VerifiedReceipt {
  const certified = verifyCertification(trust, field(answer, 'certification'));
  const proof = decoded<ReceiptProof>(ReceiptProofCodec, field(field(answer, 'proof'), 'hex'), 'proof');
  checkOpeningHeight(proof.opening, certified);
  const r = verifyReceiptProof(fromHex(certified.stateRoot), proof, txId);
  if (!r.ok) return fail(PROOF_CODES[r.reason], r.detail);
  return { ...r.receipt, certified };
}

/** Checks a `GET /v1/accounts/:key` answer: the account at an attested height (at least `minHeight`). */
export function verifyAccountAnswer(trust: Trust, answer: unknown, accountKey: string, minHeight?: number): VerifiedAccount {
  const certified = verifyCertification(trust, field(answer, 'certification'));
  requireHeight(certified, minHeight);
  const proof = decoded<AccountProof>(AccountProofCodec, field(field(answer, 'proof'), 'hex'), 'proof');
  checkOpeningHeight(proof.opening, certified);
  const r = verifyAccountProof(fromHex(certified.stateRoot), proof, accountKey, trust.assets);
  if (!r.ok) return fail(PROOF_CODES[r.reason], r.detail);
  return { ...r.account, certified };
}

/** Checks a `GET /v1/accounts/:key/orders/:clientId` answer: that open order, as its account's proof shows it. */
export function verifyOrderAnswer(trust: Trust, answer: unknown, accountKey: string, clientId: number, minHeight?: number): VerifiedOrder {
  const account = verifyAccountAnswer(trust, answer, accountKey, minHeight);
  const order = account.orders.find((o) => o.clientId === clientId);
  if (order === undefined) return fail('WRONG_ITEM', `account ${accountKey.slice(0, 12)} has no open order ${clientId} at height ${account.certified.height}`);
  return { ...order, account: account.key, certified: account.certified };
}

/** Checks a `GET /v1/blocks/:height` answer: the header is the certified block's, the payload its payload root's. */
export function verifyBlockAnswer(trust: Trust, answer: unknown, height: number): VerifiedBlock {
  const certified = verifyCertification(trust, field(answer, 'certification'));
  if (certified.height !== height) fail('WRONG_HEIGHT', `asked for height ${height}, the answer certifies ${certified.height}`);
  const header = decoded<BlockHeader>(BlockHeaderCodec, field(answer, 'header'), 'header');
  if (toHex(hashOfHeader(header)) !== certified.blockHash) fail('WRONG_BLOCK', 'the header is not the certified block');
  const a = answer as { payload?: unknown; transactions?: unknown };
  const list = a.payload ?? a.transactions;
  if (!Array.isArray(list)) return fail('MALFORMED_ANSWER', 'missing payload (or transactions)');
  const payload = list.map((t, i) => bytesOf(t, `payload ${i}`));
  if (!bytesEqual(merkleRoot(payload), header.payloadRoot)) fail('PROOF_INVALID', 'the payload does not hash to the header\'s payload root');
  return { header, payload, certified };
}

/** Checks a `GET /v1/markets/:symbol/book` answer: the books' snapshot is the one the attested state commits to. */
export function verifyBookAnswer(trust: Trust, answer: unknown, symbol: string, depth = 50, minHeight?: number): VerifiedBook {
  const certified = verifyCertification(trust, field(answer, 'certification'));
  requireHeight(certified, minHeight);
  const opening = decoded<StateOpening>(StateOpeningCodec, field(field(answer, 'opening'), 'hex'), 'opening');
  checkOpeningHeight(opening, certified);
  if (toHex(stateRootOf(opening)) !== certified.stateRoot) fail('OPENING_MISMATCH', 'the opening does not hash to the attested state root');
  const books = bytesOf(field(answer, 'books'), 'books');
  if (!bytesEqual(hash(BOOKS_DOMAIN, books), opening.books)) fail('PROOF_INVALID', 'the books do not hash to the opening\'s books part');
  let l2: { bids: readonly { price: number; size: number }[]; asks: readonly { price: number; size: number }[] };
  try {
    l2 = MatchingEngine.restore(books).l2(symbol, depth);
  } catch (e) {
    return fail('MALFORMED_ANSWER', `books: ${e instanceof Error ? e.message : String(e)}`);
  }
  // The opening hashes to the attested root (checked above), so its header is proven too.
  const { operatorNonce } = decode(RootHeaderCodec, opening.header);
  return { symbol, bids: l2.bids.map((l) => ({ price: l.price, size: l.size })), asks: l2.asks.map((l) => ({ price: l.price, size: l.size })), operatorNonce, certified };
}

