// Where a whole machine's CPU goes, from a system-wide `perf` profile (issue 20): Ed25519, the
// kernel, the allocator, V8's garbage collector and compiler, JavaScript, LevelDB, hashing, idle.
// Native frames only: JavaScript shows as V8's builtins and interpreter (run the replicas with
// --perf-basic-prof to name JIT code). Reads `perf report` text on stdin:
//   perf record -F 499 -a -g -o perf.data -- sleep 8      (while node:bench holds a rate step)
//   perf report -i perf.data --no-children --sort comm,dso,sym -g none --percent-limit 0 | node bench/perf-breakdown.mjs
import { readFileSync } from 'node:fs';

const categories = [
  ['idle', (c) => c === 'swapper'],
  ['Ed25519 (OpenSSL: verify, sign)', (c, d, s) => /\b(fe_|ge_|slide\b|x25519|ossl_ed25519|ed25519|sha512_block)/.test(s)],
  ['SHA-256', (c, d, s) => /sha256/.test(s)],
  ['LevelDB', (c, d, s) => /classic-level/.test(d) || /leveldb|snappy/.test(s)],
  ['kernel (system calls, scheduling, interrupts)', (c, d) => /kernel/.test(d)],
  ['allocator (malloc, free)', (c, d, s) => /libc/.test(d) && /malloc|free|unlink_chunk|_int_|consolidate/.test(s)],
  ['other libc (memcpy, futex, epoll)', (c, d) => /libc/.test(d)],
  ['V8 garbage collection', (c, d, s) => /Scaveng|Marking|Sweep|Heap::|Evacuat|MarkCompact|RecordWrite|Barrier/.test(s)],
  ['V8 compiler', (c, d, s) => /compiler::|Maglev|Turbofan/.test(s)],
  ['JavaScript (V8 builtins, interpreter, JIT code)', (c, d, s) => /Builtins_|v8::|Runtime_/.test(s) || /JIT/.test(d)],
  ['other (node, libuv, unresolved)', () => true],
];

const totals = new Map();
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const m = /^\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[.\]\s+(.*)$/.exec(line);
  if (m === null) continue;
  const [, share, comm, dso, sym] = m;
  const [name] = categories.find(([, f]) => f(comm, dso, sym));
  totals.set(name, (totals.get(name) ?? 0) + Number(share));
}
const busy = 100 - (totals.get('idle') ?? 0);
for (const [name] of categories) {
  const v = totals.get(name) ?? 0;
  console.log(`${name.padEnd(50)} ${v.toFixed(1).padStart(5)}% of samples${name === 'idle' ? '' : `, ${((100 * v) / busy).toFixed(1).padStart(5)}% of busy`}`);
}
console.log(JSON.stringify({ busyShare: Math.round(busy * 10) / 10, ofBusy: Object.fromEntries([...totals].filter(([k]) => k !== 'idle').map(([k, v]) => [k, Math.round((1000 * v) / busy) / 10])) }));
