// The fault run (issue 16): four replica processes under a steady load of signed orders, then
// 1. a hostile client at replica 0: connections that never authenticate on its peer port (some
//    announcing 1 MiB frames), HTTP bodies that trickle, final transactions posted again. Replica 0's
//    RSS is sampled throughout and must stay under RSS_BOUND_MB; it keeps finalizing.
// 2. kill -9 of a replica, its data damaged in one of several ways, a restart: it either runs and
//    catches up, or refuses with a clear message and changes none of its files; restored from a copy
//    taken before the damage (as an operator restores a backup), it runs and catches up.
// Afterwards: the replicas agree on every block and state root, no transaction is final twice, and
// no validator ever signed two blocks for one sequence.
// Passes over the damage kinds: BFTX_FAULT_ROUNDS (default 1); the schedule comes from BFTX_FAULT_SEED.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toHex } from '@bftx/crypto';
import { ReplicaStore, writeClusterFiles } from '@bftx/node';
import { allConnected, exited, freeBase, rng, sleep, status, until } from './processes';
import { startTrickle, type Trickle } from './trickle';

const MAIN = resolve(__dirname, '../dist/main.js');
const ROUNDS = Number(process.env['BFTX_FAULT_ROUNDS'] ?? 1);
const SEED = Number(process.env['BFTX_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
/** Replica 0's resident memory may not pass this while strangers hammer it (before the fix: 895 MB from 150 connections). */
const RSS_BOUND_MB = 250;

type Damage = 'deleted CURRENT' | 'deleted table' | 'flipped bytes in the log' | 'truncated log' | 'read-only directory';
const DAMAGES: Damage[] = ['deleted CURRENT', 'deleted table', 'flipped bytes in the log', 'truncated log', 'read-only directory'];

/** LevelDB's own files in a store directory, with their sizes (its LOG and LOCK excepted: an open attempt writes those). */
function dataFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(dir)) if (/^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/.test(f)) out[f] = statSync(join(dir, f)).size;
  return out;
}

/** Damages a store; returns false if this kind cannot be done here (read-only as root). */
function damage(dir: string, kind: Damage, random: () => number): boolean {
  const files = readdirSync(dir);
  const newest = (re: RegExp) => files.filter((f) => re.test(f)).sort((a, b) => parseInt(b, 10) - parseInt(a, 10))[0];
  switch (kind) {
    case 'deleted CURRENT':
      unlinkSync(join(dir, 'CURRENT'));
      return true;
    case 'deleted table': {
      // A sorted table if compaction wrote one yet, else the manifest that lists the tables.
      const table = files.find((f) => /\.(ldb|sst)$/.test(f)) ?? files.find((f) => f.startsWith('MANIFEST-'))!;
      unlinkSync(join(dir, table));
      return true;
    }
    case 'flipped bytes in the log': {
      const log = join(dir, newest(/^\d+\.log$/)!);
      const bytes = readFileSync(log);
      const at = Math.floor(bytes.length * (0.2 + 0.5 * random()));
      for (let i = at; i < Math.min(bytes.length, at + 256); i++) bytes[i]! ^= 0x5a;
      writeFileSync(log, bytes);
      return true;
    }
    case 'truncated log': {
      const log = join(dir, newest(/^\d+\.log$/)!);
      truncateSync(log, Math.floor(statSync(log).size / 2));
      return true;
    }
    case 'read-only directory':
      if (process.getuid?.() === 0) return false; // root writes anyway
      chmodSync(dir, 0o555);
      for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o444);
      return true;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // exited
  }
}

const dirs: string[] = [];
afterAll(() => {
  if (process.env['BFTX_KEEP'] === undefined) dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

test(`fault run: a hostile client, then ${ROUNDS} pass(es) of kill -9 with damaged data; bounded memory, clear refusals, nothing lost, agreement`, async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx nx run replica:build)`);
  const random = rng(SEED);
  const replay = `BFTX_FAULT_SEED=${SEED} npx nx run replica:test -- -t 'fault run'`;
  const dir = mkdtempSync(join(tmpdir(), 'bftx-faults-'));
  dirs.push(dir);
  const files = writeClusterFiles(dir, { nodes: 4, protocol: 'hotstuff', host: '127.0.0.1', basePort: await freeBase(random), deltaMs: 50, clients: 8, auditVotes: true });
  const dataDir = (i: number) => resolve(dir, (JSON.parse(readFileSync(files.replicas[i]!.config, 'utf8')) as { dataDir: string }).dataDir);
  const children: Array<ChildProcess | undefined> = [];
  const output = files.replicas.map(() => '');
  const logs = files.replicas.map((_, i) => createWriteStream(join(dir, `replica-${i}.log`), { flags: 'a' }));
  const launch = (i: number) => {
    output[i] = '';
    const child = spawn(process.execPath, [MAIN, 'start', '--config', files.replicas[i]!.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (d: Buffer) => {
        output[i] += String(d);
        logs[i]!.write(d);
      });
    }
    children[i] = child;
    return child;
  };
  const heights = async () => Promise.all(files.replicas.map(async (_, i) => (await status(files, i))?.height ?? 0));
  const report: Record<string, unknown> = { seed: SEED };
  let load: Trickle | undefined;
  const sockets: Socket[] = [];
  try {
    files.replicas.forEach((_, i) => launch(i));
    await allConnected(files);
    load = startTrickle(files, 50);
    await until(() => 'a few blocks', async () => (await heights())[0]! >= 5);

    // 1. The hostile client, at replica 0 (the lowest validator dials every peer: strangers cannot crowd them out).
    const target = children[0]!.pid!;
    const peer = files.replicas[0]!.peer;
    const api = files.replicas[0]!.api;
    // Final transactions posted again, copied from the blocks: refused, and their receipts stay.
    let replays = 0;
    let refused = 0;
    const finalNow = (await status(files, 0))!.height;
    for (let h = 1; h <= finalNow && replays < 20; h++) {
      const b = (await (await fetch(`http://${api.host}:${api.port}/v1/blocks/${h}`)).json()) as { transactions: string[] };
      for (const tx of b.transactions.slice(0, 2)) {
        replays++;
        const res = await fetch(`http://${api.host}:${api.port}/v1/transactions`, { method: 'POST', body: JSON.stringify({ transactions: [tx] }), headers: { 'content-type': 'application/json' } });
        if (res.status === 400 && ((await res.json()) as { error: string }).error === 'STALE_NONCE') refused++;
      }
    }
    const rssBefore = rssMb(target);
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(target))), 100);
    const heightBefore = (await status(files, 0))!.height;
    const open = (port: number) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      sockets.push(s);
      return s;
    };
    // 100 announce a frame just under the 8 MiB maximum and send 3 MiB of it (before the fix each was
    // buffered: about 300 MB), 50 say nothing.
    const junk = Buffer.alloc(3 * 1024 * 1024, 7);
    for (let k = 0; k < 150; k++) {
      const s = open(peer.port);
      if (k < 100) s.write(Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff]), junk.subarray(0, 16)]), () => s.write(junk));
    }
    for (let k = 0; k < 150; k++) open(api.port).write(`POST /v1/transactions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1048576\r\n\r\n{"transactions": ["`);
    const trickle = setInterval(() => sockets.forEach((s) => !s.destroyed && s.write('a')), 200);
    try {
      await sleep(6_000);
    } finally {
      clearInterval(trickle);
      clearInterval(sampler);
    }
    // Its API answers this test from the same address as the flood, so look once the flood is gone.
    sockets.forEach((s) => s.destroy());
    await sleep(200);
    const during = await status(files, 0);
    Object.assign(report, { rssBeforeMb: Math.round(rssBefore), rssMaxMb: Math.round(rssMax), replays, replaysRefused: refused, heightDuringAttack: [heightBefore, during?.height] });
    expect(replays).toBeGreaterThan(0);
    expect(refused).toBe(replays);
    expect(rssMax).toBeLessThan(RSS_BOUND_MB);
    expect(during?.height ?? 0).toBeGreaterThan(heightBefore);
    expect(during?.connectedPeers).toHaveLength(3);

    // 2. kill -9, damage, restart.
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of DAMAGES) {
        const victim = 1 + Math.floor(random() * 3);
        const where = `${kind}, replica ${victim}, round ${round}; replay: ${replay}`;
        await sleep(300 + random() * 700);
        const child = children[victim]!;
        child.kill('SIGKILL');
        await exited(child);
        const store = dataDir(victim);
        const backup = `${store}.backup`;
        rmSync(backup, { recursive: true, force: true });
        cpSync(store, backup, { recursive: true });
        if (!damage(store, kind, random)) {
          outcomes.push(`${kind}: not tried (running as root)`);
          launch(victim);
        } else {
          const damaged = dataFiles(store);
          const again = launch(victim);
          const up = await Promise.race([
            until(() => `replica ${victim} up (${where})`, async () => (await status(files, victim)) !== undefined, 15_000).then(() => true),
            exited(again).then(() => false),
          ]);
          if (up) outcomes.push(`${kind}: ran on`);
          else {
            // Refused: a message that says what is wrong, and the store as the damage left it.
            expect(output[victim]).toMatch(/store .*: |refusing to start|LEDGER_/);
            chmodSync(store, 0o755);
            expect(dataFiles(store)).toEqual(damaged);
            outcomes.push(`${kind}: refused (${/"code":"(\w+)"|StoreError|(\w+_\w+)/.exec(output[victim]!)?.[0] ?? 'message'}), restored from the copy`);
            rmSync(store, { recursive: true, force: true });
            cpSync(backup, store, { recursive: true });
            launch(victim);
          }
        }
        const others = (await heights()).filter((_, i) => i !== victim);
        const goal = Math.max(...others);
        // Generous: what is checked is that it catches up (nothing lost, agreement), not how fast on
        // a CI machine whose 2 cores other packages' tests share (a clean run timed out at 30 s).
        await until(() => `replica ${victim} catching up to ${goal} (${where})`, async () => ((await status(files, victim))?.height ?? -1) >= goal, 90_000);
      }
    }
    report['damage'] = outcomes;
    await load.stop();
    const tops = await heights();
    const common = Math.max(...tops);
    await until(() => `every replica at height ${common}`, async () => (await heights()).every((h) => h >= common));
    // Agreement at every height, and no transaction final twice.
    const final = new Set<string>();
    for (let h = 1; h <= common; h++) {
      const views = await Promise.all(files.replicas.map(async (r) => (await (await fetch(`http://${r.api.host}:${r.api.port}/v1/blocks/${h}`)).json()) as { id: string; stateRoot: string; transactions: string[] }));
      expect(new Set(views.map((v) => v.id)).size).toBe(1);
      expect(new Set(views.map((v) => v.stateRoot)).size).toBe(1);
      for (const tx of views[0]!.transactions) {
        if (final.has(tx)) throw new Error(`a transaction is final twice (height ${h}; ${replay})`);
        final.add(tx);
      }
    }
    Object.assign(report, { height: common, transactions: final.size });
  } finally {
    await load?.stop();
    sockets.forEach((s) => s.destroy());
    await Promise.all(children.map((c) => (c ? (c.kill('SIGTERM'), exited(c)) : undefined)));
    logs.forEach((l) => l.end());
  }
  // No validator signed two blocks for one sequence (every vote is kept in the store before it leaves).
  const sequences = new Map<string, string>();
  for (let i = 0; i < files.replicas.length; i++) {
    const store = await ReplicaStore.open(dataDir(i));
    try {
      for await (const v of store.votes()) {
        const sequence = `${v.signer}/${v.domain}/${v.view}/${v.sequence}`;
        const earlier = sequences.get(sequence);
        if (earlier !== undefined && earlier !== toHex(v.blockHash)) throw new Error(`validator ${v.signer} signed two blocks for ${sequence} (${replay})`);
        sequences.set(sequence, toHex(v.blockHash));
      }
    } finally {
      await store.close();
    }
  }
  console.log(`fault run: ${JSON.stringify(report)}`);
  writeFileSync(join(dir, 'result.json'), JSON.stringify(report));
}, 120_000 + ROUNDS * 300_000);
