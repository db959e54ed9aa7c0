// The hub of the real-network test, run inside its own network namespace (bftx-hub), the only
// place every replica namespace is reachable from. It relays replica-to-replica TCP with a delay of
// 50 +- 10 ms per direction (this kernel has no sch_netem, so `tc netem` cannot add delay; loss is
// real packet loss from iptables in each replica namespace), cuts and restores links on command
// (a partition closes the relayed connections between groups and refuses new ones until the heal),
// offers signed orders to every replica (trickle.ts), and reports every replica's height as JSON lines.
//
// stdin, one JSON command per line: {"partition": [[0,1],[2,3]]} | {"heal": true} | {"stop": true}
// stdout, one JSON object per line: {"ready": true} | {"t": ms, "heights": [...]} | {"stopped": true}
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { ClusterFiles } from '@bftx/node';
import { startTrickle } from '../trickle';

const files = JSON.parse(process.argv[2]!) as { cluster: ClusterFiles; relayHost: string; relayBase: number; replicaHosts: string[]; peerPort: number; delayMs: number; jitterMs: number };
const n = files.replicaHosts.length;
const emit = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
let groups: number[][] | undefined;
const links = new Set<{ from: number; to: number; a: Socket; b: Socket }>();
const cut = (from: number, to: number) => groups !== undefined && !groups.some((g) => g.includes(from) && g.includes(to));

/** Writes each chunk after the delay, in order (a later chunk never overtakes an earlier one). */
function delayed(from: Socket, to: Socket): void {
  let last = 0;
  from.on('data', (chunk: Buffer) => {
    const at = Math.max(last, performance.now() + files.delayMs + (Math.random() * 2 - 1) * files.jitterMs);
    last = at;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, at - performance.now());
  });
}

for (let to = 0; to < n; to++) {
  createServer((a) => {
    const from = files.replicaHosts.indexOf(a.remoteAddress ?? '');
    if (from < 0 || cut(from, to)) return void a.destroy();
    const b = connect(files.peerPort, files.replicaHosts[to]!);
    const link = { from, to, a, b };
    links.add(link);
    const close = () => {
      links.delete(link);
      a.destroy();
      b.destroy();
    };
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    delayed(a, b);
    delayed(b, a);
  }).listen(files.relayBase + to, files.relayHost);
}

const api = (i: number) => `http://${files.cluster.replicas[i]!.api.host}:${files.cluster.replicas[i]!.api.port}`;
let running = true;
const begin = performance.now();
const load = startTrickle(files.cluster, 200);

async function report(): Promise<void> {
  while (running) {
    const heights = await Promise.all(
      files.cluster.replicas.map((_, i) =>
        fetch(`${api(i)}/v1/status`, { signal: AbortSignal.timeout(1_000) })
          .then((r) => r.json() as Promise<{ height: number }>)
          .then((s) => s.height, () => -1),
      ),
    );
    emit({ t: Math.round(performance.now() - begin), heights });
    await new Promise((r) => setTimeout(r, 200));
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { partition?: number[][]; heal?: boolean; stop?: boolean };
  if (cmd.partition) {
    groups = cmd.partition;
    for (const l of links) {
      if (!cut(l.from, l.to)) continue;
      l.a.destroy();
      l.b.destroy();
    }
  } else if (cmd.heal) groups = undefined;
  else if (cmd.stop) {
    running = false;
    void load.stop().then(() => {
      emit({ stopped: true });
      process.exit(0);
    });
  }
});

emit({ ready: true });
void report();
