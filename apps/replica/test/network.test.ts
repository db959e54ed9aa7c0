// A real network: four replica processes, each in its own network namespace, joined through a hub
// namespace (veth pairs on a bridge). Replica-to-replica traffic crosses the hub with 50 +- 10 ms of
// delay each way, and every replica's interface drops 5% of incoming packets at random (iptables;
// TCP retransmits). Then a 2|2 partition (no quorum on either side) and a heal. Safety always (the
// same block at every height in every store); finalization resumes within a bound after the heal.
// Needs root, iproute2 and iptables (.ci/run installs them); it targets only the namespaces it
// makes. This kernel has no sch_netem, so `tc netem` is not available: see hub.ts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ReplicaStore, writeClusterFiles, type ReplicaConfigFile } from '@bftx/node';

const MAIN = resolve(__dirname, '../dist/main.js');
const HUB = resolve(__dirname, 'netns/hub.ts');
const ROOT = resolve(__dirname, '../../..');
const N = 4;
const DELTA = 200;

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const capable = process.getuid?.() === 0 && has('ip') && has('iptables');
if (!capable && process.env['CI'] === 'true') throw new Error('the real-network test needs root, iproute2 and iptables; .ci/run installs them');
const maybe = capable ? describe : describe.skip;
if (!capable) console.warn('skipping the real-network test: it needs root, iproute2 and iptables');

const tag = `bftx${process.pid % 100_000}`;
const hubNs = `${tag}-hub`;
const replicaNs = (i: number) => `${tag}-r${i}`;
const host = (i: number) => `10.77.0.${i + 1}`;
const HUB_ADDR = '10.77.0.100';
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'pipe' });

function teardown(): void {
  for (const ns of [hubNs, ...Array.from({ length: N }, (_, i) => replicaNs(i))]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not there
    }
  }
}

function setup(): void {
  teardown();
  ip('netns', 'add', hubNs);
  ip('-n', hubNs, 'link', 'set', 'lo', 'up');
  ip('-n', hubNs, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', hubNs, 'addr', 'add', `${HUB_ADDR}/24`, 'dev', 'br0');
  ip('-n', hubNs, 'link', 'set', 'br0', 'up');
  for (let i = 0; i < N; i++) {
    const ns = replicaNs(i);
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', hubNs, 'link', 'add', `hub${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', hubNs, 'link', 'set', `hub${i}`, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${host(i)}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    inNs(ns, 'iptables', '-A', 'INPUT', '-i', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', '0.05', '-j', 'DROP');
  }
}

maybe.each(['hotstuff', 'streamlet', 'pbft'])('%s over a real network: delay, loss, a partition and a heal', (protocol) => {
  let dir = '';
  const children: ChildProcess[] = [];
  let hub: ChildProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `bftx-net-${protocol}-`));
    setup();
  });
  afterAll(async () => {
    hub?.kill('SIGKILL');
    await Promise.all(children.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))));
    teardown();
    if (process.env['BFTX_KEEP'] === undefined && dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('safety always; finalization stops without a quorum and resumes within the bound after the heal', async () => {
    const files = writeClusterFiles(dir, { nodes: N, protocol, host: '127.0.0.1', basePort: 7000, deltaMs: DELTA, clients: 4 });
    // Each replica reaches its peers through the hub's relays, listens on its own interface, and
    // serves its API there (the hub reads it).
    const cluster = { ...files, replicas: files.replicas.map((r, i) => ({ ...r, api: { host: host(i), port: 7100 } })) };
    files.replicas.forEach((r, i) => {
      const config = JSON.parse(readFileSync(r.config, 'utf8')) as ReplicaConfigFile;
      const patched: ReplicaConfigFile = { ...config, validators: config.validators.map((v, j) => ({ ...v, host: HUB_ADDR, port: 8000 + j })), listen: { host: host(i), port: 7000 }, api: { host: host(i), port: 7100 } };
      writeFileSync(r.config, JSON.stringify(patched));
    });
    const args = JSON.stringify({ cluster, relayHost: HUB_ADDR, relayBase: 8000, replicaHosts: Array.from({ length: N }, (_, i) => host(i)), peerPort: 7000, delayMs: 50, jitterMs: 10 });
    hub = spawn('ip', ['netns', 'exec', hubNs, process.execPath, '--conditions=@bftx/source', '--import', 'tsx', HUB, args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const samples: Array<{ t: number; heights: number[] }> = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    createInterface({ input: hub.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { ready?: boolean; t?: number; heights?: number[] };
      if (m.ready) ready();
      if (m.heights) samples.push({ t: m.t!, heights: m.heights });
    });
    await isReady;
    files.replicas.forEach((r, i) => {
      const log = createWriteStream(join(dir, `replica-${i}.log`));
      const child = spawn('ip', ['netns', 'exec', replicaNs(i), process.execPath, MAIN, 'start', '--config', r.config], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      children.push(child);
    });
    const command = (c: unknown) => hub!.stdin!.write(JSON.stringify(c) + '\n');
    const latest = () => samples[samples.length - 1]?.heights ?? [];
    const waitFor = async (what: string, cond: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what} (heights ${latest()})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const minHeight = () => Math.min(...latest());

    // Progress over the slow, lossy network.
    await waitFor('every replica to finalize 5 blocks', () => latest().length === N && minHeight() >= 5, 60_000);
    // A 2|2 partition: neither side has a quorum of 3; finalization stops.
    command({ partition: [[0, 1], [2, 3]] });
    await new Promise((r) => setTimeout(r, 3_000)); // what was in flight settles
    const stalled = Math.max(...latest());
    await new Promise((r) => setTimeout(r, 4_000));
    expect(Math.max(...latest())).toBeLessThanOrEqual(stalled + 1);
    // Heal: finalization resumes everywhere within the bound (the protocol's own bound, the
    // longest redial backoff, and retransmissions over the lossy links).
    command({ heal: true });
    const healedAt = Date.now();
    const before = Math.max(...latest());
    await waitFor('finalization to resume on every replica after the heal', () => minHeight() > before + 2, 30_000);
    const resumedMs = Date.now() - healedAt;
    console.log(`${protocol}: finalization resumed on every replica ${resumedMs} ms after the heal`);
    command({ stop: true });
    await Promise.all(children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))));

    // Safety: one chain in every store.
    const chains: string[][] = [];
    for (let i = 0; i < N; i++) {
      const store = await ReplicaStore.open(join(dir, `data/replica-${i}`));
      try {
        chains.push((await store.blocks()).map((b) => b.id));
      } finally {
        await store.close();
      }
    }
    const shortest = Math.min(...chains.map((c) => c.length));
    expect(shortest).toBeGreaterThan(before);
    for (let h = 0; h < shortest; h++) expect(new Set(chains.map((c) => c[h])).size).toBe(1);
  }, 180_000);
});
