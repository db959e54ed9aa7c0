import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { toHex } from '../bytes';
import type { Ed25519Backend } from './scheme';
import { isAcceptablePublicKey, isWellFormedSignature } from './strict';

// @noble/ed25519 v3 needs a synchronous SHA-512 before any sync call.
ed.hashes.sha512 = sha512;

const { Point } = ed;
const L = Point.CURVE().n;
const BASE = Point.BASE;

function littleEndianToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bigintTo32LittleEndian(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function sha512Concat(...parts: Uint8Array[]): Uint8Array {
  const h = sha512.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

// Decoded public keys, so repeated verification by the same validator or
// account skips point decompression. Bounded: oldest entries go first.
const MAX_CACHED_KEYS = 4096;
const decodedKeys = new Map<string, InstanceType<typeof Point> | null>();

function decodePublicKey(publicKey: Uint8Array): InstanceType<typeof Point> | null {
  const id = toHex(publicKey);
  const cached = decodedKeys.get(id);
  if (cached !== undefined) return cached;
  let point: InstanceType<typeof Point> | null = null;
  if (isAcceptablePublicKey(publicKey)) {
    try {
      point = Point.fromBytes(publicKey, false);
    } catch {
      point = null; // not on the curve
    }
  }
  if (decodedKeys.size >= MAX_CACHED_KEYS) decodedKeys.delete(decodedKeys.keys().next().value!);
  decodedKeys.set(id, point);
  return point;
}

/** Pure-JS Ed25519 (@noble/ed25519 point arithmetic) under bftx's strict rule. Portable: browsers, Deno, Bun, Node. */
export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  publicKey(secretKey) {
    return ed.getPublicKey(secretKey);
  },
  prepareSigner(secretKey) {
    // RFC 8032 5.1.6 with the expanded key computed once, not on every call.
    const { prefix, scalar, pointBytes } = ed.utils.getExtendedPublicKey(secretKey);
    return (message) => {
      const r = littleEndianToBigint(sha512Concat(prefix, message)) % L;
      // Constant-time multiply for the secret nonce (it throws for r = 0, probability 2^-252, as noble's own sign does).
      const R = BASE.multiply(r).toBytes();
      const k = littleEndianToBigint(sha512Concat(R, pointBytes, message)) % L;
      const S = (r + k * scalar) % L;
      const sig = new Uint8Array(64);
      sig.set(R, 0);
      sig.set(bigintTo32LittleEndian(S), 32);
      return sig;
    };
  },
  verify(publicKey, message, signature) {
    if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(message instanceof Uint8Array)) return false;
    if (!isWellFormedSignature(signature)) return false;
    const A = decodePublicKey(publicKey);
    if (A === null) return false;
    const R = signature.subarray(0, 32);
    const S = littleEndianToBigint(signature.subarray(32, 64));
    const k = littleEndianToBigint(sha512Concat(R, publicKey, message)) % L;
    // Cofactorless: [S]B - [k]A must encode to exactly R.
    const check = BASE.multiply(S, false).subtract(A.multiply(k, false));
    const enc = check.toBytes();
    for (let i = 0; i < 32; i++) if (enc[i] !== R[i]) return false;
    return true;
  },
};
