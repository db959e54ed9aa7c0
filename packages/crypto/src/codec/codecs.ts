import { fromUtf8, utf8 } from '../bytes';
import { DecodeError, EncodeError } from './errors';
import { encodeFail, type Reader, type Writer } from './io';

/**
 * A codec for values of type T in the canonical encoding. Every value has
 * exactly one encoding, and every byte string decodes to at most one value.
 */
export interface Codec<T> {
  /** Short description for error messages, e.g. "uint(<=255)". */
  readonly kind: string;
  /** Fewest bytes any encoding of this codec takes; lets `array` reject a hostile count before reading. */
  readonly minBytes: number;
  /** Validates `value` and appends its encoding; throws EncodeError on a value that does not fit. */
  write(w: Writer, value: T): void;
  /** Reads one value; throws DecodeError on malformed input. */
  read(r: Reader): T;
}

/** The TypeScript type a codec encodes. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// Built-ins bound once: hot encode paths then make no global lookups, which
// cost a C++ call each inside a vm context such as jest's sandbox.
const isSafeInteger = Number.isSafeInteger;
const isArray = Array.isArray;
const Bytes = Uint8Array;
const ZIGZAG_NUMBER_LIMIT = 2 ** 52;
/** Default bound on a length prefix: a hostile length can never make us allocate more than this. */
export const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;

function checkMax(max: number, what: string): void {
  if (!isSafeInteger(max) || max < 0) throw new TypeError(`${what}: bound must be a non-negative safe integer, got ${max}`);
}

/** Unsigned safe integer in [0, max], as canonical LEB128. */
export function uint(max: number = MAX_SAFE): Codec<number> {
  checkMax(max, 'uint');
  return {
    kind: `uint(<=${max})`,
    minBytes: 1,
    write(w, v) {
      if (typeof v !== 'number' || !isSafeInteger(v)) encodeFail('WRONG_TYPE', `expected a safe integer, got ${describe(v)}`);
      if (v < 0 || v > max) encodeFail('OUT_OF_RANGE', `${v} is outside [0, ${max}]`);
      w.varint(v);
    },
    read(r) {
      return r.varint(max);
    },
  };
}

/** Signed safe integer in [min, max], zigzag then canonical LEB128. */
export function int(min: number = -MAX_SAFE, max: number = MAX_SAFE): Codec<number> {
  if (!isSafeInteger(min) || !isSafeInteger(max) || min > max) throw new TypeError(`int: invalid bounds [${min}, ${max}]`);
  return {
    kind: `int([${min}, ${max}])`,
    minBytes: 1,
    write(w, v) {
      if (typeof v !== 'number' || !isSafeInteger(v)) encodeFail('WRONG_TYPE', `expected a safe integer, got ${describe(v)}`);
      if (v < min || v > max) encodeFail('OUT_OF_RANGE', `${v} is outside [${min}, ${max}]`);
      // zigzag: 0,-1,1,-2,... -> 0,1,2,3,... Needs 54 bits for safe integers,
      // so magnitudes of 2^52 and above take the bigint path.
      if (v < ZIGZAG_NUMBER_LIMIT && v > -ZIGZAG_NUMBER_LIMIT) w.varint(v >= 0 ? v * 2 : -v * 2 - 1);
      else w.bigVarint(v >= 0 ? BigInt(v) * 2n : -BigInt(v) * 2n - 1n);
    },
    read(r) {
      const start = r.pos;
      const z = r.bigVarint(54);
      const v = Number((z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n));
      if (!isSafeInteger(v)) r.fail('OUT_OF_RANGE', 'integer is not a safe integer', start);
      if (v < min || v > max) r.fail('OUT_OF_RANGE', `${v} is outside [${min}, ${max}]`, start);
      return v;
    },
  };
}

/** Unsigned bigint below 2^maxBits. */
export function biguint(maxBits = 256): Codec<bigint> {
  checkMax(maxBits, 'biguint');
  const limit = 1n << BigInt(maxBits);
  return {
    kind: `biguint(${maxBits} bits)`,
    minBytes: 1,
    write(w, v) {
      if (typeof v !== 'bigint') encodeFail('WRONG_TYPE', `expected a bigint, got ${describe(v)}`);
      if (v < 0n || v >= limit) encodeFail('OUT_OF_RANGE', `${v} is outside [0, 2^${maxBits})`);
      w.bigVarint(v);
    },
    read(r) {
      return r.bigVarint(maxBits);
    },
  };
}

/** Signed bigint in (-2^(maxBits-1), 2^(maxBits-1)), zigzag. */
export function bigint(maxBits = 256): Codec<bigint> {
  checkMax(maxBits, 'bigint');
  if (maxBits < 1) throw new TypeError('bigint: maxBits must be at least 1');
  const limit = 1n << BigInt(maxBits - 1);
  return {
    kind: `bigint(${maxBits} bits)`,
    minBytes: 1,
    write(w, v) {
      if (typeof v !== 'bigint') encodeFail('WRONG_TYPE', `expected a bigint, got ${describe(v)}`);
      if (v <= -limit || v >= limit) encodeFail('OUT_OF_RANGE', `${v} needs more than ${maxBits} bits`);
      w.bigVarint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
    },
    read(r) {
      const start = r.pos;
      const z = r.bigVarint(maxBits);
      const v = (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
      if (v <= -limit || v >= limit) r.fail('OUT_OF_RANGE', `value needs more than ${maxBits} bits`, start);
      return v;
    },
  };
}

/** true / false as one byte 1 / 0; any other byte is rejected. */
export const bool: Codec<boolean> = {
  kind: 'bool',
  minBytes: 1,
  write(w, v) {
    if (typeof v !== 'boolean') encodeFail('WRONG_TYPE', `expected a boolean, got ${describe(v)}`);
    w.u8(v ? 1 : 0);
  },
  read(r) {
    const start = r.pos;
    const b = r.u8();
    if (b > 1) r.fail('INVALID_BOOL', `bool byte must be 0 or 1, got ${b}`, start);
    return b === 1;
  },
};

/** Length-prefixed bytes, at most `maxLength`. */
export function bytes(maxLength: number = DEFAULT_MAX_LENGTH): Codec<Uint8Array> {
  checkMax(maxLength, 'bytes');
  return {
    kind: `bytes(<=${maxLength})`,
    minBytes: 1,
    write(w, v) {
      if (!(v instanceof Bytes)) encodeFail('WRONG_TYPE', `expected a Uint8Array, got ${describe(v)}`);
      if (v.length > maxLength) encodeFail('TOO_LONG', `${v.length} bytes exceed the maximum ${maxLength}`);
      w.varint(v.length);
      w.bytes(v);
    },
    read(r) {
      return r.take(readByteLength(r, maxLength));
    },
  };
}

/** Exactly `length` bytes, no prefix (hashes, keys, signatures). */
export function fixedBytes(length: number): Codec<Uint8Array> {
  checkMax(length, 'fixedBytes');
  return {
    kind: `bytes[${length}]`,
    minBytes: length,
    write(w, v) {
      if (!(v instanceof Bytes)) encodeFail('WRONG_TYPE', `expected a Uint8Array, got ${describe(v)}`);
      if (v.length !== length) encodeFail('WRONG_LENGTH', `expected ${length} bytes, got ${v.length}`);
      w.bytes(v);
    },
    read(r) {
      return r.take(length);
    },
  };
}

/** Length-prefixed UTF-8 string of at most `maxBytes` bytes; lone surrogates are refused. */
export function string(maxBytes: number = DEFAULT_MAX_LENGTH): Codec<string> {
  checkMax(maxBytes, 'string');
  return {
    kind: `string(<=${maxBytes} bytes)`,
    minBytes: 1,
    write(w, v) {
      if (typeof v !== 'string') encodeFail('WRONG_TYPE', `expected a string, got ${describe(v)}`);
      // Short ASCII (domain tags, symbols) is its own UTF-8: written without a TextEncoder call.
      if (v.length <= maxBytes && w.ascii(v)) return;
      // A lone surrogate would be replaced by U+FFFD and would not round-trip.
      if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) encodeFail('INVALID_STRING', 'string contains a lone surrogate');
      const b = utf8(v);
      if (b.length > maxBytes) encodeFail('TOO_LONG', `${b.length} UTF-8 bytes exceed the maximum ${maxBytes}`);
      w.varint(b.length);
      w.bytes(b);
    },
    read(r) {
      const n = readByteLength(r, maxBytes);
      const at = r.pos;
      const view = r.view(n);
      try {
        return fromUtf8(view);
      } catch {
        return r.fail('INVALID_UTF8', 'string is not valid UTF-8', at);
      }
    },
  };
}

/** A length-prefixed list of at most `maxLength` items. */
export function array<T>(item: Codec<T>, maxLength: number = DEFAULT_MAX_LENGTH): Codec<T[]> {
  checkMax(maxLength, 'array');
  return {
    kind: `array<${item.kind}>(<=${maxLength})`,
    minBytes: 1,
    write(w, v) {
      if (!isArray(v)) encodeFail('WRONG_TYPE', `expected an array, got ${describe(v)}`);
      if (v.length > maxLength) encodeFail('TOO_LONG', `${v.length} items exceed the maximum ${maxLength}`);
      w.varint(v.length);
      for (let i = 0; i < v.length; i++) {
        try {
          item.write(w, v[i] as T);
        } catch (e) {
          throw e instanceof EncodeError ? e.within(`[${i}]`) : e;
        }
      }
    },
    read(r) {
      const start = r.pos;
      const n = readLength(r, maxLength);
      // Refuse a count the remaining input cannot hold before reading anything,
      // so a hostile count costs nothing.
      if (n * item.minBytes > r.remaining) r.fail('TRUNCATED', `${n} items need at least ${n * item.minBytes} bytes, ${r.remaining} left`, start);
      const out: T[] = [];
      for (let i = 0; i < n; i++) {
        try {
          out.push(item.read(r));
        } catch (e) {
          throw e instanceof DecodeError ? e.within(`[${i}]`) : e;
        }
      }
      return out;
    },
  };
}

/** Absent (0) or present (1 then the value). `undefined` means absent. */
export function optional<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    kind: `optional<${inner.kind}>`,
    minBytes: 1,
    write(w, v) {
      if (v === undefined) {
        w.u8(0);
      } else {
        w.u8(1);
        inner.write(w, v);
      }
    },
    read(r) {
      const start = r.pos;
      const flag = r.u8();
      if (flag === 0) return undefined;
      if (flag !== 1) r.fail('INVALID_BOOL', `optional flag must be 0 or 1, got ${flag}`, start);
      return inner.read(r);
    },
  };
}

type FieldCodecs = Record<string, Codec<any>>;
/** The object type a record codec encodes. */
export type RecordOf<F extends FieldCodecs> = { [K in keyof F]: Infer<F[K]> };

const INTEGER_KEY = /^(0|[1-9][0-9]*)$/;

function checkFieldNames(fields: FieldCodecs, what: string): string[] {
  const names = Object.keys(fields);
  for (const name of names) {
    // Integer-like keys are iterated before others by JS, which would silently reorder fields.
    if (INTEGER_KEY.test(name)) throw new TypeError(`${what}: field name "${name}" looks like an integer; field order would not be the declared order`);
  }
  return names;
}

/**
 * Fields in the order declared, no names or tags on the wire. Extra
 * properties on the value are not encoded (and so not signed).
 */
export function record<F extends FieldCodecs>(fields: F): Codec<RecordOf<F>> {
  const names = checkFieldNames(fields, 'record');
  const codecs = names.map((n) => fields[n]!);
  return {
    kind: `record{${names.join(',')}}`,
    minBytes: codecs.reduce((sum, c) => sum + c.minBytes, 0),
    write(w, v) {
      if (typeof v !== 'object' || v === null || isArray(v)) encodeFail('WRONG_TYPE', `expected an object, got ${describe(v)}`);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        try {
          codecs[i]!.write(w, (v as Record<string, unknown>)[name]);
        } catch (e) {
          throw e instanceof EncodeError ? e.within(name) : e;
        }
      }
    },
    read(r) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        try {
          out[name] = codecs[i]!.read(r);
        } catch (e) {
          throw e instanceof DecodeError ? e.within(name) : e;
        }
      }
      return out as RecordOf<F>;
    },
  };
}

/** One of a fixed list of strings, encoded as its index. */
export function enumeration<const S extends readonly string[]>(values: S): Codec<S[number]> {
  if (values.length === 0 || new Set(values).size !== values.length) throw new TypeError('enumeration: values must be non-empty and distinct');
  const index = new Map<string, number>(values.map((v, i) => [v, i]));
  return {
    kind: `enum(${values.join('|')})`,
    minBytes: 1,
    write(w, v) {
      const i = typeof v === 'string' ? index.get(v) : undefined;
      if (i === undefined) encodeFail('UNKNOWN_TAG', `expected one of ${values.join(', ')}, got ${describe(v)}`);
      w.varint(i);
    },
    read(r) {
      const start = r.pos;
      const i = r.varint(MAX_SAFE);
      const v = values[i];
      if (v === undefined) return r.fail('UNKNOWN_TAG', `enum index ${i} is not below ${values.length}`, start);
      return v;
    },
  };
}

type Variants = Record<string, FieldCodecs>;
/** The union type a tagged union codec encodes. */
export type UnionOf<D extends string, V extends Variants> = {
  [K in keyof V & string]: { [P in D]: K } & RecordOf<V[K]>;
}[keyof V & string];

/**
 * A tagged union: `{ [discriminant]: name, ...fields }`, encoded as the
 * variant's index (declaration order) then its fields.
 */
export function taggedUnion<const D extends string, const V extends Variants>(discriminant: D, variants: V): Codec<UnionOf<D, V>> {
  const names = Object.keys(variants);
  if (names.length === 0) throw new TypeError('taggedUnion: at least one variant is required');
  const bodies = names.map((n) => {
    const fields = variants[n]!;
    if (discriminant in fields) throw new TypeError(`taggedUnion: variant "${n}" has a field named like the discriminant "${discriminant}"`);
    return record(fields);
  });
  const index = new Map<string, number>(names.map((n, i) => [n, i]));
  return {
    kind: `union(${discriminant}: ${names.join('|')})`,
    minBytes: 1 + Math.min(...bodies.map((b) => b.minBytes)),
    write(w, v) {
      if (typeof v !== 'object' || v === null) encodeFail('WRONG_TYPE', `expected an object, got ${describe(v)}`);
      const tag = (v as Record<string, unknown>)[discriminant];
      const i = typeof tag === 'string' ? index.get(tag) : undefined;
      if (i === undefined) throw new EncodeError('UNKNOWN_TAG', discriminant, `expected one of ${names.join(', ')}, got ${describe(tag)}`);
      w.varint(i);
      try {
        bodies[i]!.write(w, v as never);
      } catch (e) {
        throw e instanceof EncodeError ? e.within(names[i]!) : e;
      }
    },
    read(r) {
      const start = r.pos;
      const i = r.varint(MAX_SAFE);
      const body = bodies[i];
      if (body === undefined) return r.fail('UNKNOWN_TAG', `variant index ${i} is not below ${names.length}`, start);
      let fields: Record<string, unknown>;
      try {
        fields = body.read(r);
      } catch (e) {
        throw e instanceof DecodeError ? e.within(names[i]!) : e;
      }
      return { [discriminant]: names[i]!, ...fields } as UnionOf<D, V>;
    },
  };
}

function readLength(r: Reader, max: number): number {
  const start = r.pos;
  const n = r.varint(MAX_SAFE);
  if (n > max) r.fail('LENGTH_TOO_LARGE', `length ${n} exceeds the maximum ${max}`, start);
  return n;
}

/** A length prefix for that many bytes, which must all be present. */
function readByteLength(r: Reader, max: number): number {
  const start = r.pos;
  const n = readLength(r, max);
  if (n > r.remaining) r.fail('TRUNCATED', `length prefix says ${n} bytes, ${r.remaining} left`, start);
  return n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (isArray(v)) return 'an array';
  if (v instanceof Bytes) return `${v.length} bytes`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v;
}
