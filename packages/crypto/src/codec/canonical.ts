import type { Codec } from './codecs';
import { DecodeError } from './errors';
import { Reader, Writer } from './io';

/** Version byte that starts every canonical encoding. Bumped only with a migration path. */
export const CODEC_VERSION = 1;

// One writer reused by every encode call (encoding is synchronous and codecs
// never call encode themselves), so steady-state encoding allocates only its result.
const shared = new Writer(1024);

/** The canonical bytes of `value`: the version byte, then the body. Throws EncodeError if `value` does not fit `codec`. */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  shared.reset();
  shared.u8(CODEC_VERSION);
  codec.write(shared, value);
  return shared.finish();
}

/**
 * The value encoded by `bytes`. Throws DecodeError (and only DecodeError) on
 * anything but exactly one canonical encoding: wrong version, truncation,
 * over-long integers, bad UTF-8, unknown tags, trailing bytes.
 */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('NOT_BYTES', 0, '', 'input must be a Uint8Array');
  if (bytes.length === 0) throw new DecodeError('EMPTY_INPUT', 0, '', 'input is empty');
  if (bytes[0] !== CODEC_VERSION) throw new DecodeError('UNSUPPORTED_VERSION', 0, '', `codec version ${bytes[0]} is not supported (expected ${CODEC_VERSION})`);
  const r = new Reader(bytes);
  r.pos = 1;
  let value: T;
  try {
    value = codec.read(r);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // A codec bug must still surface as a DecodeError to callers that handle untrusted input.
    throw new DecodeError('MALFORMED', r.pos, '', `unexpected failure while decoding: ${String(e)}`);
  }
  if (r.remaining !== 0) throw new DecodeError('TRAILING_BYTES', r.pos, '', `${r.remaining} bytes after the end of the value`);
  return value;
}

/** `decode` as a result value instead of an exception. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

export function tryDecode<T>(codec: Codec<T>, bytes: Uint8Array): DecodeResult<T> {
  try {
    return { ok: true, value: decode(codec, bytes) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw e;
  }
}
