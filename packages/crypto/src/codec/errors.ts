/** Why bytes could not be decoded. */
export type DecodeErrorCode =
  | 'NOT_BYTES'
  | 'EMPTY_INPUT'
  | 'UNSUPPORTED_VERSION'
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'NON_CANONICAL_VARINT'
  | 'VARINT_TOO_LONG'
  | 'OUT_OF_RANGE'
  | 'LENGTH_TOO_LARGE'
  | 'INVALID_BOOL'
  | 'INVALID_UTF8'
  | 'UNKNOWN_TAG'
  | 'MALFORMED';

/**
 * Malformed input to `decode`. Decoding either returns a whole value or
 * throws this: never another kind of error, never a partial value.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    /** Byte offset in the input where the problem was found. */
    readonly offset: number,
    /** Where in the value: e.g. "votes[3].signature". Empty at the top level. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${code} at byte ${offset}${path ? ` (${path})` : ''}: ${detail}`);
  }

  /** The same error with `segment` prepended to its path. */
  within(segment: string): DecodeError {
    const path = this.path === '' ? segment : this.path.startsWith('[') ? segment + this.path : `${segment}.${this.path}`;
    return new DecodeError(this.code, this.offset, path, this.detail);
  }
}

/** Why a value could not be encoded. */
export type EncodeErrorCode = 'WRONG_TYPE' | 'OUT_OF_RANGE' | 'TOO_LONG' | 'WRONG_LENGTH' | 'INVALID_STRING' | 'UNKNOWN_TAG';

/** A value that does not fit its codec (wrong type, out of range, too long). No bytes are produced. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(
    readonly code: EncodeErrorCode,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${code}${path ? ` (${path})` : ''}: ${detail}`);
  }

  within(segment: string): EncodeError {
    const path = this.path === '' ? segment : this.path.startsWith('[') ? segment + this.path : `${segment}.${this.path}`;
    return new EncodeError(this.code, path, this.detail);
  }
}
