import fc from 'fast-check';
import { codec, decode, DecodeError, encode, EncodeError, tryDecode, type Codec, type Infer } from '../src/index';

const { array, bigint, biguint, bool, bytes, enumeration, fixedBytes, int, optional, record, string, taggedUnion, uint } = codec;

// A schema exercising every combinator, shaped like the messages bftx signs.
const Order = taggedUnion('type', {
  place: { account: fixedBytes(32), nonce: uint(), side: enumeration(['buy', 'sell'] as const), price: uint(), size: uint(), tif: optional(string(8)) },
  cancel: { account: fixedBytes(32), nonce: uint(), orderId: bytes(64) },
});
const Message = record({
  height: uint(),
  delta: int(),
  balance: bigint(128),
  supply: biguint(256),
  final: bool,
  memo: string(100),
  orders: array(Order, 50),
});
type MessageValue = Infer<typeof Message>;

const arbOrder = fc.oneof(
  fc.record({
    type: fc.constant('place' as const),
    account: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    nonce: fc.maxSafeNat(),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    price: fc.maxSafeNat(),
    size: fc.nat(),
    tif: fc.option(fc.constantFrom('GTC', 'IOC', 'FOK'), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('cancel' as const),
    account: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    nonce: fc.maxSafeNat(),
    orderId: fc.uint8Array({ maxLength: 64 }),
  }),
);
const arbMessage: fc.Arbitrary<MessageValue> = fc.record({
  height: fc.maxSafeNat(),
  delta: fc.maxSafeInteger(),
  balance: fc.bigInt({ min: -(2n ** 127n) + 1n, max: 2n ** 127n - 1n }),
  supply: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  final: fc.boolean(),
  memo: fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 100),
  orders: fc.array(arbOrder, { maxLength: 5 }),
});

function expectDecodeError(c: Codec<unknown>, input: Uint8Array, code?: string): DecodeError {
  let caught: unknown;
  try {
    decode(c, input);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  if (code !== undefined) expect((caught as DecodeError).code).toBe(code);
  return caught as DecodeError;
}

describe('canonical codec: round trip', () => {
  test('decode(encode(x)) equals x for every message', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const enc = encode(Message, m);
        expect(decode(Message, enc)).toEqual(m);
      }),
      { numRuns: bftxRuns(500) },
    );
  });

  test('encoding is deterministic and starts with the version byte', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const a = encode(Message, m);
        const b = encode(Message, structuredClone(m));
        expect(a).toEqual(b);
        expect(a[0]).toBe(codec.CODEC_VERSION);
      }),
      { numRuns: bftxRuns(200) },
    );
  });

  test('integers round-trip at their bounds', () => {
    for (const v of [0, 1, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(decode(uint(), encode(uint(), v))).toBe(v);
      expect(decode(int(), encode(int(), v))).toBe(v);
      if (v !== 0) expect(decode(int(), encode(int(), -v))).toBe(-v);
    }
    for (const v of [0n, 1n, 2n ** 64n, 2n ** 255n - 1n]) {
      expect(decode(biguint(256), encode(biguint(256), v))).toBe(v);
      expect(decode(bigint(257), encode(bigint(257), -v))).toBe(-v);
    }
  });

  test('known encodings (wire format is fixed)', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(hex(encode(uint(), 0))).toBe('0100');
    expect(hex(encode(uint(), 300))).toBe('01ac02');
    expect(hex(encode(int(), -1))).toBe('0101');
    expect(hex(encode(int(), 1))).toBe('0102');
    expect(hex(encode(string(), 'hé'))).toBe('010368c3a9');
    expect(hex(encode(record({ a: bool, b: optional(uint()) }), { a: true, b: 5 }))).toBe('01010105');
    expect(hex(encode(Order, { type: 'cancel', account: new Uint8Array(32), nonce: 1, orderId: Uint8Array.of(9) }))).toBe(
      '0101' + '00'.repeat(32) + '010109',
    );
  });

  test('strings: the short-ASCII fast path writes exactly what the UTF-8 path does', () => {
    const reference = (s: string) => {
      const b = new TextEncoder().encode(s);
      const w = new codec.Writer();
      w.u8(1);
      w.varint(b.length);
      w.bytes(b);
      return Buffer.from(w.finish()).toString('hex');
    };
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (const s of ['', 'bftx.vote', 'a'.repeat(127), 'a'.repeat(128), 'a'.repeat(126) + 'é', '\u007f\u0080']) {
      expect(hex(encode(string(), s))).toBe(reference(s));
      expect(decode(string(), encode(string(), s))).toBe(s);
    }
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      fc.pre((s as string & { isWellFormed(): boolean }).isWellFormed());
      expect(hex(encode(string(), s))).toBe(reference(s));
    }));
    // The bound still applies on the fast path.
    expect(() => encode(string(9), 'bftx.vote')).not.toThrow();
    expect(() => encode(string(8), 'bftx.vote')).toThrow(EncodeError);
  });

  test('decoded bytes are copies, not views of the input', () => {
    const enc = encode(bytes(), Uint8Array.of(1, 2, 3));
    const out = decode(bytes(), enc);
    enc[2] = 99;
    expect(out).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe('canonical codec: malformed input', () => {
  test('random bytes either decode to a value that re-encodes to the same bytes, or give DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
        const input = raw.length > 0 ? Uint8Array.of(1, ...raw.subarray(1)) : raw; // mostly past the version byte
        const result = tryDecode(Message, input);
        if (result.ok) expect(encode(Message, result.value)).toEqual(input);
        else expect(result.error).toBeInstanceOf(DecodeError);
      }),
      { numRuns: bftxRuns(3000) },
    );
  });

  test('mutations of valid encodings are rejected or are again canonical (one encoding per value)', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, pos, byte) => {
        const enc = encode(Message, m);
        const mutated = enc.slice();
        mutated[pos % enc.length] = byte;
        const result = tryDecode(Message, mutated);
        if (result.ok) expect(encode(Message, result.value)).toEqual(mutated);
        else expect(result.error).toBeInstanceOf(DecodeError);
      }),
      { numRuns: bftxRuns(1000) },
    );
  });

  test('every proper prefix is TRUNCATED, never a partial value', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const enc = encode(Message, m);
        for (let cut = 1; cut < enc.length; cut++) {
          const r = tryDecode(Message, enc.subarray(0, cut));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(['TRUNCATED']).toContain(r.error.code);
        }
      }),
      { numRuns: bftxRuns(100) },
    );
  });

  test('trailing garbage is TRAILING_BYTES', () => {
    fc.assert(
      fc.property(arbMessage, fc.uint8Array({ minLength: 1, maxLength: 8 }), (m, extra) => {
        const enc = encode(Message, m);
        expectDecodeError(Message, Uint8Array.of(...enc, ...extra), 'TRAILING_BYTES');
      }),
      { numRuns: bftxRuns(100) },
    );
  });

  test('each kind of malformation has its own code', () => {
    expectDecodeError(uint(), new Uint8Array(0), 'EMPTY_INPUT');
    expectDecodeError(uint(), Uint8Array.of(2, 0), 'UNSUPPORTED_VERSION');
    expectDecodeError(uint(), Uint8Array.of(1, 0x80, 0x00), 'NON_CANONICAL_VARINT'); // 0 written in two bytes
    expectDecodeError(uint(), Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'VARINT_TOO_LONG');
    expectDecodeError(uint(), Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 'OUT_OF_RANGE'); // 2^56 - 1
    expectDecodeError(uint(10), Uint8Array.of(1, 11), 'OUT_OF_RANGE');
    expectDecodeError(int(-5, 5), encode(int(), -6), 'OUT_OF_RANGE');
    expectDecodeError(int(), Uint8Array.of(1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20), 'OUT_OF_RANGE'); // zigzag 2^54: not a safe integer
    expectDecodeError(biguint(8), encode(biguint(16), 256n), 'OUT_OF_RANGE');
    expectDecodeError(bool, Uint8Array.of(1, 2), 'INVALID_BOOL');
    expectDecodeError(optional(uint()), Uint8Array.of(1, 7, 0), 'INVALID_BOOL');
    expectDecodeError(string(), Uint8Array.of(1, 2, 0xc3, 0x28), 'INVALID_UTF8');
    expectDecodeError(string(), Uint8Array.of(1, 3, 0xed, 0xa0, 0x80), 'INVALID_UTF8'); // encoded surrogate
    expectDecodeError(bytes(4), Uint8Array.of(1, 5, 1, 2, 3, 4, 5), 'LENGTH_TOO_LARGE');
    expectDecodeError(bytes(), Uint8Array.of(1, 5, 1, 2), 'TRUNCATED');
    expectDecodeError(enumeration(['a', 'b'] as const), Uint8Array.of(1, 2), 'UNKNOWN_TAG');
    expectDecodeError(Order, Uint8Array.of(1, 2), 'UNKNOWN_TAG');
    expectDecodeError(fixedBytes(32), Uint8Array.of(1, 1, 2), 'TRUNCATED');
    expectDecodeError(uint(), Buffer.from('0180', 'hex'), 'TRUNCATED');
    expect(() => decode(uint(), 'not bytes' as unknown as Uint8Array)).toThrow(DecodeError);
  });

  test('a hostile array count is refused before reading (no allocation from the count)', () => {
    // count = 2^40 items of at least 33 bytes each, with 3 bytes of input
    const err = expectDecodeError(array(fixedBytes(33)), Uint8Array.of(1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2, 3));
    expect(['LENGTH_TOO_LARGE', 'TRUNCATED']).toContain(err.code);
    expectDecodeError(array(uint(), 1000), Uint8Array.of(1, 0xe8, 0x07, 1), 'TRUNCATED');
  });

  test('errors carry the path of the offending field', () => {
    const bad = encode(Message, {
      height: 1, delta: 0, balance: 0n, supply: 0n, final: false, memo: '',
      orders: [{ type: 'cancel', account: new Uint8Array(32), nonce: 1, orderId: Uint8Array.of(7) }],
    });
    const truncated = bad.subarray(0, bad.length - 1);
    const err = expectDecodeError(Message, truncated, 'TRUNCATED');
    expect(err.path).toBe('orders[0].cancel.orderId');
  });
});

describe('canonical codec: encode refuses values that do not fit', () => {
  const cases: Array<[Codec<any>, unknown, string]> = [
    [uint(), -1, 'OUT_OF_RANGE'],
    [uint(), 1.5, 'WRONG_TYPE'],
    [uint(), Number.MAX_SAFE_INTEGER + 1, 'WRONG_TYPE'],
    [uint(), '5', 'WRONG_TYPE'],
    [uint(10), 11, 'OUT_OF_RANGE'],
    [int(-3, 3), 4, 'OUT_OF_RANGE'],
    [biguint(8), 256n, 'OUT_OF_RANGE'],
    [biguint(8), -1n, 'OUT_OF_RANGE'],
    [bigint(8), 128n, 'OUT_OF_RANGE'],
    [bigint(8), 5, 'WRONG_TYPE'],
    [bool, 1, 'WRONG_TYPE'],
    [bytes(2), Uint8Array.of(1, 2, 3), 'TOO_LONG'],
    [fixedBytes(2), Uint8Array.of(1), 'WRONG_LENGTH'],
    [string(), '\ud800', 'INVALID_STRING'],
    [string(3), 'abcd', 'TOO_LONG'],
    [array(uint(), 1), [1, 2], 'TOO_LONG'],
    [enumeration(['a'] as const), 'b', 'UNKNOWN_TAG'],
    [Order, { type: 'modify' }, 'UNKNOWN_TAG'],
    [record({ a: uint() }), null, 'WRONG_TYPE'],
  ];
  test.each(cases)('%#: %p', (c, value, code) => {
    let caught: unknown;
    try {
      encode(c, value);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EncodeError);
    expect((caught as EncodeError).code).toBe(code);
  });

  test('an encode error names the field and leaves the next encode unaffected', () => {
    expect(() => encode(Message, { height: 1, delta: 0, balance: 0n, supply: 0n, final: 'yes', memo: '', orders: [] } as never)).toThrow(
      /WRONG_TYPE \(final\)/,
    );
    expect(decode(uint(), encode(uint(), 42))).toBe(42);
  });

  test('integer-like record field names are refused at schema definition', () => {
    expect(() => record({ b: uint(), 1: uint() })).toThrow(TypeError);
  });
});
