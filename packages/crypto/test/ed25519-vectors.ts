// Ed25519 edge-case vectors: RFC 8032 section 7.1 tests and hand-built
// signatures that separate implementations (after "Taming the many EdDSAs",
// Chalkias, Garillot, Nikolaenko, 2020). Built deterministically from noble's
// point arithmetic; `valid` is bftx's verdict (strict, cofactorless, canonical
// encodings, no small-order keys: see src/signature/strict.ts).
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { fromHex, SMALL_ORDER_HEX, utf8 } from './vector-helpers';

ed.hashes.sha512 = sha512;
const { Point } = ed;
type P = InstanceType<typeof Point>;
const L = Point.CURVE().n;
const B = Point.BASE;

export interface Vector {
  name: string;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  valid: boolean;
}

const le = (b: Uint8Array) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const to32 = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array) => le(sha512(new Uint8Array([...R, ...A, ...M]))) % L;
const sig = (R: Uint8Array, S: bigint) => new Uint8Array([...R, ...to32(S)]);
const mul = (p: P, k: bigint) => (k % L === 0n ? Point.ZERO : p.multiply(k % L));

// A fixed secret scalar and nonce: the vectors are the same on every run.
const a = le(sha512(utf8('bftx vector key'))) % L;
const r = le(sha512(utf8('bftx vector nonce'))) % L;
const T8 = Point.fromHex(SMALL_ORDER_HEX.find((h) => h.startsWith('26e8') && h.endsWith('05'))!); // order 8

/** First message (by counter) for which `pred(k)` holds, with k its challenge for R, A. */
function messageWhere(R: Uint8Array, A: Uint8Array, pred: (k: bigint) => boolean): Uint8Array {
  for (let i = 0; ; i++) {
    const m = utf8(`msg-${i}`);
    if (pred(challenge(R, A, m))) return m;
  }
}

export function buildVectors(): Vector[] {
  const v: Vector[] = [];
  // RFC 8032 section 7.1, tests 1-3 and SHA(abc).
  const rfc = [
    ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ] as const;
  rfc.forEach(([pk, msg, s], i) => v.push({ name: `RFC 8032 test ${i + 1}`, publicKey: fromHex(pk), message: fromHex(msg), signature: fromHex(s), valid: true }));
  const [pk1, , s1] = rfc[0];
  v.push({ name: 'RFC 8032 test 1, message changed', publicKey: fromHex(pk1), message: Uint8Array.of(0), signature: fromHex(s1), valid: false });

  // An honest key and signature, then variations of it.
  const A = B.multiply(a).toBytes();
  const R = B.multiply(r).toBytes();
  const M = utf8('bftx');
  const k = challenge(R, A, M);
  const S = (r + k * a) % L;
  v.push({ name: 'honest signature', publicKey: A, message: M, signature: sig(R, S), valid: true });
  v.push({ name: 'S + L (non-canonical scalar, malleability)', publicKey: A, message: M, signature: sig(R, S + L), valid: false });
  v.push({ name: 'S = L', publicKey: A, message: M, signature: sig(R, L), valid: false });
  v.push({ name: 'S with the top bit set', publicKey: A, message: M, signature: sig(R, S | (1n << 255n)), valid: false });

  // Small-order public keys: R and S = 0 chosen so the cofactorless equation holds.
  for (const hex of SMALL_ORDER_HEX) {
    const Asmall = fromHex(hex);
    const Apt = Point.fromHex(hex);
    let found: Vector | undefined;
    // For each candidate R among the small-order points, look for a message whose challenge makes -[k]A equal R.
    for (const rHex of SMALL_ORDER_HEX) {
      for (let i = 0; i < 64 && !found; i++) {
        const mi = utf8(`small-${i}`);
        const kk = challenge(fromHex(rHex), Asmall, mi);
        if (mul(Apt, kk).negate().toHex() === rHex) {
          found = { name: `small-order public key ${hex.slice(0, 4)}..${hex.slice(-2)}, S = 0`, publicKey: Asmall, message: mi, signature: sig(fromHex(rHex), 0n), valid: false };
        }
      }
      if (found) break;
    }
    v.push(found!);
  }

  // Non-canonical encodings of small-order keys (y >= p, or x = 0 with the sign bit), S = 0, R = identity.
  const identity = Point.ZERO.toBytes();
  const nonCanonicalKeys = [
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (identity)
    '0100000000000000000000000000000000000000000000000000000000000080', // y = 1, sign bit set: "-0"
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y = p - 1, sign bit set
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (i.e. 0)
  ];
  for (const hex of nonCanonicalKeys) {
    v.push({ name: `non-canonical public key ${hex.slice(0, 6)}..${hex.slice(-2)}, R = identity, S = 0`, publicKey: fromHex(hex), message: M, signature: sig(identity, 0n), valid: false });
  }

  // Mixed-order public key A' = aB + T8 (not small order, so not refused up front).
  const Amixed = B.multiply(a).add(T8).toBytes();
  const mixedSig = (pred: (k: bigint) => boolean) => {
    const m = messageWhere(R, Amixed, pred);
    const kk = challenge(R, Amixed, m);
    return { m, s: sig(R, (r + kk * a) % L) };
  };
  // Cofactored verification accepts these; cofactorless only when 8 divides k.
  const nz = mixedSig((kk) => kk % 8n !== 0n);
  v.push({ name: 'mixed-order public key, k mod 8 != 0 (cofactored accepts, cofactorless rejects)', publicKey: Amixed, message: nz.m, signature: nz.s, valid: false });
  const z = mixedSig((kk) => kk % 8n === 0n);
  v.push({ name: 'mixed-order public key, k mod 8 = 0 (both equations hold)', publicKey: Amixed, message: z.m, signature: z.s, valid: true });

  // Mixed-order R' = rB + T8 with an honest key.
  const Rmixed = B.multiply(r).add(T8).toBytes();
  const km = challenge(Rmixed, A, M);
  v.push({ name: 'mixed-order R (cofactored accepts, cofactorless rejects)', publicKey: A, message: M, signature: sig(Rmixed, (r + km * a) % L), valid: false });

  // Non-canonical R: the identity encoded as y = p + 1, with S = k*a so the equation holds on decoded points.
  const Rnc = fromHex(nonCanonicalKeys[0]!);
  const knc = challenge(Rnc, A, M);
  v.push({ name: 'non-canonical R (y = p + 1) that satisfies the equation on decoded points', publicKey: A, message: M, signature: sig(Rnc, (knc * a) % L), valid: false });

  // Malformed inputs.
  const honest = sig(R, S);
  v.push({ name: 'signature 63 bytes', publicKey: A, message: M, signature: honest.subarray(0, 63), valid: false });
  v.push({ name: 'signature 65 bytes', publicKey: A, message: M, signature: new Uint8Array([...honest, 0]), valid: false });
  v.push({ name: 'public key 31 bytes', publicKey: A.subarray(0, 31), message: M, signature: honest, valid: false });
  v.push({ name: 'public key 33 bytes', publicKey: new Uint8Array([...A, 0]), message: M, signature: honest, valid: false });
  v.push({ name: 'empty signature and key', publicKey: new Uint8Array(0), message: M, signature: new Uint8Array(0), valid: false });
  // A y with no x on the curve.
  for (let y = 2; ; y++) {
    const enc = to32(BigInt(y));
    try {
      Point.fromBytes(enc);
    } catch {
      v.push({ name: `public key not on the curve (y = ${y})`, publicKey: enc, message: M, signature: honest, valid: false });
      break;
    }
  }
  v.push({ name: 'R = identity, S = 0, honest key', publicKey: A, message: M, signature: sig(identity, 0n), valid: false });
  return v;
}
