import { DecodeError, EncodeError } from './errors';

const TWO_POW_32 = 2 ** 32;

/** A growable output buffer. Reused across `encode` calls to avoid allocation on hot paths. */
export class Writer {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  reset(): void {
    this.len = 0;
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /**
   * A length-prefixed string if it is ASCII of at most 127 characters (then its
   * UTF-8 bytes are its char codes and the prefix is one byte); else writes
   * nothing and returns false.
   */
  ascii(s: string): boolean {
    const n = s.length;
    if (n > 127) return false;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return false;
    this.ensure(n + 1);
    const buf = this.buf;
    let at = this.len;
    buf[at++] = n;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.len = at;
    return true;
  }

  /** Unsigned LEB128 of a safe non-negative integer (caller checked the range). */
  varint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      // Numbers above 2^31 cannot use bitwise ops; fall back to arithmetic.
      const low = v < TWO_POW_32 ? v & 0x7f : v % 128;
      this.buf[this.len++] = low | 0x80;
      v = v < TWO_POW_32 ? v >>> 7 : Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  /** Unsigned LEB128 of a non-negative bigint (caller checked the range). */
  bigVarint(v: bigint): void {
    while (v >= 0x80n) {
      this.u8(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.u8(Number(v));
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A cursor over input bytes; every read checks bounds and throws DecodeError. */
export class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(code: DecodeError['code'], detail: string, offset = this.pos): never {
    throw new DecodeError(code, offset, '', detail);
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.fail('TRUNCATED', 'expected 1 more byte');
    return this.buf[this.pos++]!;
  }

  /** A copy of the next `n` bytes (copies, so a decoded value never aliases the input). */
  take(n: number): Uint8Array {
    if (n > this.remaining) this.fail('TRUNCATED', `expected ${n} bytes, ${this.remaining} left`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A view of the next `n` bytes, no copy (only for bytes consumed at once, like UTF-8). */
  view(n: number): Uint8Array {
    if (n > this.remaining) this.fail('TRUNCATED', `expected ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Canonical (shortest-form) unsigned LEB128, at most `max`. */
  varint(max: number): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) this.fail('VARINT_TOO_LONG', 'varint longer than 8 bytes', start);
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail('NON_CANONICAL_VARINT', 'varint has a redundant trailing zero byte', start);
        break;
      }
      scale *= 128;
    }
    if (result > max) this.fail('OUT_OF_RANGE', `integer ${result} exceeds maximum ${max}`, start);
    return result;
  }

  /** Canonical unsigned LEB128 bigint of at most `maxBits` bits. */
  bigVarint(maxBits: number): bigint {
    const start = this.pos;
    const maxBytes = Math.ceil(maxBits / 7);
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (i >= maxBytes) this.fail('VARINT_TOO_LONG', `varint longer than ${maxBytes} bytes`, start);
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail('NON_CANONICAL_VARINT', 'varint has a redundant trailing zero byte', start);
        break;
      }
      shift += 7n;
    }
    if (result >> BigInt(maxBits) !== 0n) this.fail('OUT_OF_RANGE', `integer exceeds ${maxBits} bits`, start);
    return result;
  }
}

export function encodeFail(code: EncodeError['code'], detail: string): never {
  throw new EncodeError(code, '', detail);
}
