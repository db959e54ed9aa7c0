import { bytesEqual, codec, compareBytes, encode, hash, toHex, tryDecode, type SignatureScheme, type Signer } from '@bftx/crypto';
import { HASH_BYTES, MAX_TX_BYTES } from '../block';
import type { ValidatorSet } from '../validators';

/** Domain tags of fair ordering: the signature on a receive log, the hash that names a transaction. */
export const OrderingDomains = {
  receiveLog: 'bftx.receive-log',
  txDigest: 'bftx.tx-digest',
} as const;

/** The digest a receive log names a transaction by: the hash of its exact bytes. */
export function txDigest(tx: Uint8Array): Uint8Array {
  return hash(OrderingDomains.txDigest, tx);
}

/**
 * Most entries in one receive log: a replica logs the oldest transactions it holds that are not
 * final, up to this many (newer ones wait for older ones to become final). A log travels as one
 * block payload element (at most MAX_TX_BYTES, 64 KiB) and an entry takes at most 32 + 9 bytes.
 */
export const MAX_LOG_ENTRIES = 1_000;

/** One transaction a replica holds, not final yet, and when it received it (its own clock, ms). */
export const LogEntryCodec = codec.record({ digest: codec.fixedBytes(HASH_BYTES), time: codec.uint() });
export type LogEntry = codec.Infer<typeof LogEntryCodec>;

/** What a replica signs: "at my time `at`, these transactions were waiting, received at these times". Entries in increasing digest order. */
export const ReceiveLogBodyCodec = codec.record({
  signer: codec.uint(),
  at: codec.uint(),
  entries: codec.array(LogEntryCodec, MAX_LOG_ENTRIES),
});
export type ReceiveLogBody = codec.Infer<typeof ReceiveLogBodyCodec>;

export const SignedReceiveLogCodec = codec.record({
  signer: codec.uint(),
  at: codec.uint(),
  entries: codec.array(LogEntryCodec, MAX_LOG_ENTRIES),
  signature: codec.bytes(128),
});
export type SignedReceiveLog = codec.Infer<typeof SignedReceiveLogCodec>;

/**
 * A receive log as a block payload element: a leading zero byte (no canonical encoding starts with
 * one, so no exchange transaction is ever taken for a log) and the log's canonical bytes. A
 * proposal under fair ordering carries its logs first, then its transactions. An element is a log
 * only if it decodes as one: an application's transaction that happens to start with a zero byte
 * (the simulator's are arbitrary bytes) stays a transaction.
 */
export const LOG_ELEMENT_TAG = 0x00;

// Elements are shared between replicas (the simulator) and judged by several rules: decoded once.
const decoded = new WeakMap<Uint8Array, SignedReceiveLog | null>();

export function isLogElement(element: Uint8Array): boolean {
  return decodeLogElement(element) !== undefined;
}

export function encodeLogElement(log: SignedReceiveLog): Uint8Array {
  const body = encode(SignedReceiveLogCodec, log);
  const out = new Uint8Array(body.length + 1);
  out[0] = LOG_ELEMENT_TAG;
  out.set(body, 1);
  decoded.set(out, log);
  return out;
}

/** The log an element carries, or undefined if it is not one. */
export function decodeLogElement(element: Uint8Array): SignedReceiveLog | undefined {
  if (element.length < 2 || element[0] !== LOG_ELEMENT_TAG || element.length > MAX_TX_BYTES + 1) return undefined;
  let log = decoded.get(element);
  if (log === undefined) {
    const r = tryDecode(SignedReceiveLogCodec, element.subarray(1));
    log = r.ok ? r.value : null;
    decoded.set(element, log);
  }
  return log ?? undefined;
}

/** The transactions of a payload: its elements after the leading receive logs (what the application executes). */
export function payloadTransactions(payload: readonly Uint8Array[]): readonly Uint8Array[] {
  let logs = 0;
  while (logs < payload.length && isLogElement(payload[logs]!)) logs++;
  return logs === 0 ? payload : payload.slice(logs);
}

export function signReceiveLog(signer: Signer, self: number, at: number, entries: readonly LogEntry[]): SignedReceiveLog {
  const body: ReceiveLogBody = { signer: self, at, entries: entries.slice() };
  return { ...body, signature: signer.sign(OrderingDomains.receiveLog, encode(ReceiveLogBodyCodec, body)) };
}

/** Why a receive log is refused, or undefined if it is well formed and signed by its signer. */
export function checkReceiveLog(log: SignedReceiveLog, validators: ValidatorSet, scheme: SignatureScheme): string | undefined {
  if (!validators.has(log.signer)) return `signer ${log.signer} is not a validator`;
  for (let i = 1; i < log.entries.length; i++) {
    if (compareBytes(log.entries[i - 1]!.digest, log.entries[i]!.digest) >= 0) return `entries of validator ${log.signer}'s log are not in strictly increasing digest order`;
  }
  let ok = false;
  try {
    ok = scheme.verify(validators.key(log.signer), OrderingDomains.receiveLog, encode(ReceiveLogBodyCodec, { signer: log.signer, at: log.at, entries: log.entries }), log.signature);
  } catch {
    ok = false;
  }
  return ok ? undefined : `validator ${log.signer}'s receive log has a bad signature`;
}

export function sameLog(a: SignedReceiveLog, b: SignedReceiveLog): boolean {
  return a.signer === b.signer && a.at === b.at && bytesEqual(a.signature, b.signature);
}

/** Hex of a digest (map keys). */
export const digestKey = toHex;
