// The one Ed25519 verification rule of bftx, shared by every backend.
//
// RFC 8032 leaves room for implementations to disagree (cofactored or
// cofactorless equation; whether non-canonical or small-order points pass).
// Replicas that disagree on a signature's validity can split, so bftx fixes:
//   1. signature is 64 bytes, public key 32 bytes;
//   2. S < L (canonical scalar);
//   3. A is a canonical encoding (y < p, and no "negative zero" x);
//   4. A is not one of the 8 small-order points;
//   5. the cofactorless equation: encode([S]B - [k]A) == R, byte for byte
//      (so a non-canonical R never verifies).
// Checks 1-4 are cheap byte comparisons done here, before any backend runs;
// check 5 is what OpenSSL does and what the noble backend computes itself.

/** Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/** Canonical encodings of the 8 points of order dividing 8 (the torsion subgroup). */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];
const SMALL_ORDER = SMALL_ORDER_ENCODINGS.map((h) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16))));

/** True iff the 32-byte little-endian scalar is below L. */
export function isCanonicalScalar(s: Uint8Array, offset = 0): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[offset + i]!;
    const b = L_BYTES[i]!;
    if (a < b) return true;
    if (a > b) return false;
  }
  return false; // equal to L
}

/** y (the encoding without its sign bit) compared to p = 2^255 - 19, and to 1 and p - 1. */
function yClass(enc: Uint8Array): 'ge-p' | 'one' | 'p-minus-1' | 'other' {
  // p - 1 = ec ff .. ff 7f; p = ed ff .. ff 7f (little-endian, top bit cleared).
  let allFF = true;
  for (let i = 1; i < 31; i++) if (enc[i] !== 0xff) allFF = false;
  if (allFF && (enc[31]! & 0x7f) === 0x7f) {
    if (enc[0]! >= 0xed) return 'ge-p';
    if (enc[0] === 0xec) return 'p-minus-1';
  }
  if (enc[0] === 1 && (enc[31]! & 0x7f) === 0) {
    let rest = true;
    for (let i = 1; i < 31; i++) if (enc[i] !== 0) rest = false;
    if (rest) return 'one';
  }
  return 'other';
}

/** True iff `enc` is a canonical point encoding: y < p, and the sign bit is clear when x = 0 (y = +-1). */
export function isCanonicalPointEncoding(enc: Uint8Array): boolean {
  if (enc.length !== 32) return false;
  const c = yClass(enc);
  if (c === 'ge-p') return false;
  if ((c === 'one' || c === 'p-minus-1') && (enc[31]! & 0x80) !== 0) return false;
  return true;
}

/** True iff `enc` is the encoding of a point of small order (checked among canonical encodings). */
export function isSmallOrderEncoding(enc: Uint8Array): boolean {
  outer: for (const p of SMALL_ORDER) {
    for (let i = 0; i < 32; i++) if (p[i] !== enc[i]) continue outer;
    return true;
  }
  return false;
}

/** Rules 3 and 4 for a public key. Backends cache the result per key. */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && isCanonicalPointEncoding(publicKey) && !isSmallOrderEncoding(publicKey);
}

/** Rules 1 and 2 for a signature. */
export function isWellFormedSignature(signature: Uint8Array): boolean {
  return signature.length === 64 && isCanonicalScalar(signature, 32);
}
