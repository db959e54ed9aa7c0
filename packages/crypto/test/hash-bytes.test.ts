import fc from 'fast-check';
import { bytesEqual, compareBytes, concatBytes, CryptoError, fromHex, hash, hashHex, hashParts, sha256, sha512, toHex, utf8 } from '../src/index';

describe('hashes', () => {
  test('SHA-256 and SHA-512 of "abc" (FIPS 180-2 vectors)', () => {
    expect(toHex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha512(utf8('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  test('tagged ids differ by tag and are stable', () => {
    const data = utf8('same bytes');
    expect(hashHex('bftx.block', data)).not.toBe(hashHex('bftx.order', data));
    expect(hashHex('bftx.block', data)).toBe(toHex(hash('bftx.block', data)));
    expect(hash('bftx.block', data)).toHaveLength(32);
    expect(toHex(hashParts('bftx.block', [data.subarray(0, 1), new Uint8Array(0), data.subarray(1)]))).toBe(toHex(hash('bftx.block', data)));
    expect(toHex(hash('bftx.block', data))).not.toBe(toHex(sha256(data)));
  });

  test('a bad tag is a CryptoError', () => {
    for (const tag of ['', 'Upper', 'with space', '1leading-digit', 'x'.repeat(65)]) {
      expect(() => hash(tag, new Uint8Array(0))).toThrow(CryptoError);
    }
  });
});

describe('byte helpers', () => {
  test('hex round-trips', () => {
    fc.assert(fc.property(fc.uint8Array(), (b) => expect(fromHex(toHex(b))).toEqual(b)), { numRuns: bftxRuns(300) });
    expect(fromHex('ABcd')).toEqual(Uint8Array.of(0xab, 0xcd));
  });

  test('malformed hex is a CryptoError INVALID_HEX', () => {
    for (const bad of ['abc', 'zz', '0x00', '  ', 'g0']) {
      expect(() => fromHex(bad)).toThrow(expect.objectContaining({ code: 'INVALID_HEX' }));
    }
  });

  test('compare, equal and concat agree with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        expect(Math.sign(compareBytes(a, b))).toBe(Math.sign(Buffer.compare(a, b)));
        expect(bytesEqual(a, b)).toBe(Buffer.compare(a, b) === 0);
        expect(concatBytes(a, b)).toEqual(new Uint8Array(Buffer.concat([a, b])));
      }),
      { numRuns: bftxRuns(300) },
    );
  });
});
