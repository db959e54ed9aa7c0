// Where replica processes spend their event loops, from `--cpu-prof` profiles (one file per thread):
// each main thread's busy time by category, and the other threads' (verify workers') busy time.
// Works on profiles of replicas run from source (file URLs name the module) and of the esbuild
// bundle (one URL: the module is found from esbuild's `// path` comment above each module's code).
//   node profile-breakdown.mjs <dir of .cpuprofile files> [bundle.mjs]
import { readFileSync, readdirSync } from 'node:fs';

const [dir, bundle] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: node profile-breakdown.mjs <profile dir> [bundle.mjs]');

/** Line (0-based) of the bundle -> the module esbuild placed there, as a repo path. */
const moduleStarts = [];
if (bundle !== undefined) {
  readFileSync(bundle, 'utf8').split('\n').forEach((text, line) => {
    const m = /^\/\/ ((?:\.\.\/)*[\w@.-][^\s]*\.(?:ts|js|mjs|cjs|json))$/.exec(text);
    // Paths are relative to packages/node, where the bundle was built.
    if (m !== null) moduleStarts.push([line, m[1].replace(/^\.\.\/\.\.\//, '').replace(/^\.\.\//, 'packages/').replace(/^src\//, 'packages/node/src/').replace(/^bench\//, 'packages/node/bench/')]);
  });
}
function moduleOf(url, line) {
  if (moduleStarts.length === 0 || !url.endsWith('.mjs')) return url;
  let lo = 0;
  let hi = moduleStarts.length - 1;
  if (line < moduleStarts[0][0]) return url;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (moduleStarts[mid][0] <= line) lo = mid;
    else hi = mid - 1;
  }
  return moduleStarts[lo][1];
}

const categories = [
  ['Ed25519 verify', (f) => f === 'verifyOneShot'],
  ['Ed25519 sign', (f) => f === 'signOneShot'],
  ['garbage collection', (f) => f === '(garbage collector)'],
  ['hashing (SHA-256)', (f, m) => /@noble\/hashes/.test(m) || (/^(createHash|digest|update|hash|Hash)$/.test(f) && /crypto/.test(m))],
  ['LevelDB', (f, m) => /classic-level|abstract-level|level-transcoder|module-error|maybe-combine-errors/.test(m)],
  ['codec (encode/decode)', (f, m) => /crypto\/src\/codec|codec/.test(m)],
  ['HTTP, sockets, streams, WebSocket', (f, m) => /node:(_http|http|net|stream)|internal\/(streams|http|net|stream_base)|_http_|undici|node_modules\/ws\//.test(m) || /^(writev|writeBuffer|writeUtf8String|readableAddChunk|onStreamRead|writevGeneric)$/.test(f)],
  ['crypto keys, signature scheme, hex', (f, m) => /crypto\/src\/|crypto\/keys|signature\//.test(m)],
  ['module loading (start-up)', (f, m) => /esm\/|cjs\/loader|bootstrap\/realm|__require/.test(m) || f === '__require2'],
  ['postMessage to workers', (f) => f === 'postMessage'],
  ['verify pool (event-loop side)', (f, m) => /verify-pool/.test(m)],
  ['matching engine, exchange', (f, m) => /matching-engine\/src|exchange\/src/.test(m)],
  ['consensus, protocols', (f, m) => /consensus\/src|hotstuff\/src|streamlet\/src|pbft\/src/.test(m)],
  ['node runtime, door, transport, API', (f, m) => /node\/src/.test(m)],
  ['logging (pino)', (f, m) => /pino|sonic-boom|thread-stream/.test(m)],
  ['(program): V8 and native outside JS', (f) => f === '(program)'],
];

const main = new Map();
const top = new Map();
const otherTop = new Map();
let mainBusy = 0;
let mainTotal = 0;
let otherBusy = 0;
let otherTotal = 0;
const processes = new Set();
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
for (const file of files) {
  const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'));
  const [, , , pid, thread] = file.split('.');
  const isMain = thread === '0';
  if (isMain) processes.add(pid);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map();
  profile.samples.forEach((s, i) => ms.set(s, (ms.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  for (const [id, t] of ms) {
    const frame = byId.get(id).callFrame;
    const f = frame.functionName;
    if (isMain) mainTotal += t;
    else otherTotal += t;
    if (f === '(idle)') continue;
    if (!isMain) {
      otherBusy += t;
      continue;
    }
    mainBusy += t;
    const m = moduleOf(frame.url, frame.lineNumber);
    const c = categories.find(([, test]) => test(f, m))?.[0] ?? 'other';
    main.set(c, (main.get(c) ?? 0) + t);
    const key = `${f || '(anonymous)'} ${m.split('/').slice(-2).join('/')}`;
    top.set(key, (top.get(key) ?? 0) + t);
    if (c === 'other') otherTop.set(key, (otherTop.get(key) ?? 0) + t);
  }
}
const s = (t) => `${(t / 1000).toFixed(1)} s`;
console.log(`${files.length} profiles, ${processes.size} processes; event loops busy ${s(mainBusy)} of ${s(mainTotal)}; other threads (verify workers) busy ${s(otherBusy)} of ${s(otherTotal)}`);
for (const [c, t] of [...main].sort((a, b) => b[1] - a[1])) console.log(`${c.padEnd(40)} ${((t / mainBusy) * 100).toFixed(1).padStart(5)}%  ${s(t)}`);
console.log('top functions (self time, event loops):');
for (const [k, t] of [...top].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${((t / mainBusy) * 100).toFixed(1).padStart(5)}%  ${k}`);
console.log("top of 'other':");
for (const [k, t] of [...otherTop].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${((t / mainBusy) * 100).toFixed(1).padStart(5)}%  ${k}`);
