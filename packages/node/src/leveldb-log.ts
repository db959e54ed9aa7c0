// A check of LevelDB's write-ahead log files (*.log) before the store is opened. LevelDB, opening a
// log with a record whose checksum fails, drops the bad bytes, says so only in its own LOG file, and
// rewrites the store without them: synced writes (a safety state, finalized blocks) can vanish
// silently, and by then the files have changed. Checked first, the store is refused untouched.
// Format (leveldb/doc/log_format.md): 32 KiB blocks of records, each `masked crc32c (4, LE) |
// length (2, LE) | type (1) | data`, the checksum over type and data. A record cut off at the end of
// the file is a write a crash interrupted, not damage: LevelDB ignores it, and so does this check.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK = 32 * 1024;
const HEADER = 7;
const MASK_DELTA = 0xa282ead8;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32c(bytes: Uint8Array, from: number, to: number): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const masked = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;

/** Where a log record fails its checksum or its framing, or undefined if every whole record is intact. */
export function damagedLogRecord(bytes: Uint8Array): { offset: number; problem: string } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  while (at < bytes.length) {
    const left = BLOCK - (at % BLOCK);
    if (left < HEADER) {
      at += left; // the block's trailer
      continue;
    }
    if (at + HEADER > bytes.length) return undefined; // a header cut off by a crash
    const stored = view.getUint32(at, true);
    const length = view.getUint16(at + 4, true);
    const type = bytes[at + 6]!;
    if (type === 0 && length === 0 && stored === 0) {
      at += left; // zero padding to the end of the block
      continue;
    }
    if (HEADER + length > left) return { offset: at, problem: `a record of ${length} bytes does not fit its block` };
    if (at + HEADER + length > bytes.length) return undefined; // a record cut off by a crash
    if (type < 1 || type > 4) return { offset: at, problem: `record type ${type}` };
    if (masked(crc32c(bytes, at + 6, at + HEADER + length)) !== stored) return { offset: at, problem: 'checksum mismatch' };
    at += HEADER + length;
  }
  return undefined;
}

/** The first damaged record in the store's LevelDB log files, named by file and offset. */
export function checkLevelDbLogs(directory: string): string | undefined {
  for (const f of readdirSync(directory).filter((n) => /^\d+\.log$/.test(n)).sort()) {
    const damage = damagedLogRecord(readFileSync(join(directory, f)));
    if (damage !== undefined) return `${f} at byte ${damage.offset}: ${damage.problem}`;
  }
  return undefined;
}
