import type * as NodeCrypto from 'node:crypto';
import { CryptoError } from './errors';

// SHA-256 of a short concatenation (a prefix, then one or two parts), the shape of every id,
// payload leaf and Merkle node hashed here. Under Node, OpenSSL's one-shot `crypto.hash` over the
// parts copied into one reused buffer; elsewhere (browsers) noble. `npx nx run crypto:bench` on the
// 2-core VM: a 200-byte id 2.2x noble's rate, a Merkle root of 500 such leaves 1.7x, 32 bytes
// 1.25x. The digest is the same either way (a test compares them on generated inputs).

type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Uint8Array;

/** node:crypto's one-shot hash (Node >= 20.16, for getBuiltinModule), loaded without an import so browser bundles never pull it. */
function loadOneShot(): OneShot | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    const nc = proc.getBuiltinModule('node:crypto') as typeof NodeCrypto | undefined;
    return typeof nc?.hash === 'function' ? (nc.hash as unknown as OneShot) : undefined;
  } catch {
    return undefined;
  }
}

/** Inputs up to this size are copied into one reused buffer; a larger one into a buffer of its own (the copy costs a fraction of the hash). */
const SCRATCH_BYTES = 16_384;
let scratch: Uint8Array | undefined;

/** The implementation in use: "node" (OpenSSL one-shot) or "noble". */
export type Sha256Backend = 'node' | 'noble';

let oneShot: OneShot | undefined = loadOneShot();

/** Which SHA-256 implementation short hashes use (tests compare both; a user never needs this). */
export function sha256Backend(): Sha256Backend {
  return oneShot === undefined ? 'noble' : 'node';
}

/** Switches the implementation ("node" only where node:crypto has a one-shot hash): for tests and benches. */
export function useSha256Backend(backend: Sha256Backend): void {
  oneShot = backend === 'noble' ? undefined : loadOneShot();
  if (backend === 'node' && oneShot === undefined) throw new CryptoError('BACKEND_UNAVAILABLE', 'the "node" SHA-256 backend needs node:crypto with a one-shot hash (Node.js >= 20.16)');
}

const EMPTY = new Uint8Array(0);

/**
 * SHA-256(prefix || a || b) through node:crypto, into a fresh 32-byte array; undefined where that
 * is not in use (the caller then hashes with noble).
 */
export function nodeSha256(prefix: Uint8Array, a: Uint8Array, b: Uint8Array = EMPTY): Uint8Array | undefined {
  // Anything but bytes goes to noble, which refuses it (a copy would hash whatever it coerced to).
  if (oneShot === undefined || !(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return undefined;
  const total = prefix.length + a.length + b.length;
  const buf = total > SCRATCH_BYTES ? new Uint8Array(total) : (scratch ??= new Uint8Array(SCRATCH_BYTES));
  buf.set(prefix, 0);
  buf.set(a, prefix.length);
  buf.set(b, prefix.length + a.length);
  const out = new Uint8Array(32);
  out.set(oneShot('sha256', buf.subarray(0, total), 'buffer'));
  return out;
}

/** `nodeSha256` over prefix and any number of parts. */
export function nodeSha256Parts(prefix: Uint8Array, parts: readonly Uint8Array[]): Uint8Array | undefined {
  if (oneShot === undefined) return undefined;
  let total = prefix.length;
  for (let i = 0; i < parts.length; i++) {
    if (!(parts[i] instanceof Uint8Array)) return undefined;
    total += parts[i]!.length;
  }
  const buf = total > SCRATCH_BYTES ? new Uint8Array(total) : (scratch ??= new Uint8Array(SCRATCH_BYTES));
  buf.set(prefix, 0);
  let at = prefix.length;
  for (let i = 0; i < parts.length; i++) {
    buf.set(parts[i]!, at);
    at += parts[i]!.length;
  }
  const out = new Uint8Array(32);
  out.set(oneShot('sha256', buf.subarray(0, total), 'buffer'));
  return out;
}
