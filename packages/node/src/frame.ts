// Length-prefixed frames on a byte stream: a 4-byte big-endian length, then that many bytes.
// The decoder refuses a frame longer than its maximum as soon as it reads the length, so a peer
// cannot make a replica buffer more than one maximum-size frame.

export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;
const HEADER = 4;

export type FrameErrorCode = 'OVERSIZED' | 'EMPTY';

export class FrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** `payload` as one frame. */
export function encodeFrame(payload: Uint8Array, maxBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (payload.length === 0) throw new FrameError('EMPTY', 'a frame carries at least one byte');
  if (payload.length > maxBytes) throw new FrameError('OVERSIZED', `frame of ${payload.length} bytes exceeds the maximum of ${maxBytes}`);
  const out = new Uint8Array(HEADER + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, HEADER);
  return out;
}

/** Splits a stream into frames. Bytes may arrive in any chunking. */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private maxBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Changes the largest frame accepted from now on (a connection allows full-size frames only once authenticated). */
  limit(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** Bytes held that do not yet make a whole frame. */
  get buffered(): number {
    return this.size;
  }

  /** Adds bytes; returns the frames they complete. Throws FrameError on an oversized or empty frame (the stream is then unusable). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const frames: Uint8Array[] = [];
    for (let f = this.next(); f !== undefined; f = this.next()) frames.push(f);
    return frames;
  }

  /** Adds bytes without reading frames (take them with `next`, so the limit can change between frames). */
  feed(chunk: Uint8Array): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  /** The next whole frame, or undefined until more bytes come. Throws FrameError as `push` does. */
  next(): Uint8Array | undefined {
    if (this.size < HEADER) return undefined;
    const length = this.peekLength();
    if (length === 0) throw new FrameError('EMPTY', 'received an empty frame');
    if (length > this.maxBytes) throw new FrameError('OVERSIZED', `received a frame of ${length} bytes; the maximum is ${this.maxBytes}`);
    if (this.size < HEADER + length) return undefined;
    this.take(HEADER);
    return this.take(length);
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= HEADER) return new DataView(first.buffer, first.byteOffset, HEADER).getUint32(0);
    const head = this.peek(HEADER);
    return new DataView(head.buffer, head.byteOffset, HEADER).getUint32(0);
  }

  private peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (at === n) break;
    }
    return out;
  }

  /** Removes and returns the next `n` bytes (a view when they lie in one chunk). */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        out.set(c.subarray(0, k), at);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.size -= n;
    return out;
  }
}
