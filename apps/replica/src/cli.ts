// bftx-replica's command line (commander). Exit codes: 0 done, 1 failed, 2 bad options or config.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { StatementVerifier, ValidatorSet, verifyEvidence, type ProtocolDefinition } from '@bftx/consensus';
import { createSignatureScheme, fromHex, toHex, type DomainTag } from '@bftx/crypto';
import { MAX_AMOUNT } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { cancelOrder, clusterClient, clusterValidators, ConfigError, freshest, MARKET, newSecretKey, ORDERINGS, placeOrder, readConfig, runLoad, startReplica, transfer, writeClusterFiles, type ClusterFiles, type Ordering, type Progress } from '@bftx/node';
import { keyPairJson, writeDeployment } from './deploy';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** The protocols a config may name. */
export const PROTOCOLS = {
  // Leaders with nothing to order wait a delta before an empty block: an idle cluster writes a few
  // blocks a second, not hundreds.
  hotstuff: (deltaMs: number) => hotstuff({ idleViewMs: deltaMs }) as ProtocolDefinition<unknown>,
  streamlet: (_deltaMs: number) => streamlet() as ProtocolDefinition<unknown>,
  pbft: (_deltaMs: number) => pbft() as ProtocolDefinition<unknown>,
} as const;
export type ProtocolName = keyof typeof PROTOCOLS;
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as ProtocolName[];

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

const integerIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
  return n;
};

function readCluster(dir: string): ClusterFiles {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`--dir ${dir}: not a folder (a cluster's folder holds cluster.json)`);
  const file = join(resolve(dir), 'cluster.json');
  if (!existsSync(file)) throw new ConfigError(`${file} not found: start a cluster with \`bftx-replica cluster --dir ${dir}\` first`);
  let files: ClusterFiles;
  try {
    files = JSON.parse(readFileSync(file, 'utf8')) as ClusterFiles;
  } catch (e) {
    throw new ConfigError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof files !== 'object' || files === null || !Array.isArray(files.replicas) || !Array.isArray(files.clients)) throw new ConfigError(`${file}: not a cluster's file (no replicas or clients list)`);
  return files;
}

interface ReplicaStatus {
  readonly protocol: string;
  readonly height: number;
  readonly appliedHeight: number;
  readonly connectedPeers: readonly number[];
  readonly mempool: unknown;
}
interface EvidenceRecord {
  readonly offender: number;
  readonly kind: string;
  readonly statements?: ReadonlyArray<{ domain: string; view: number; sequence: number; blockHash: string; signer: number; signature: string }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStatus = (v: unknown): v is ReplicaStatus =>
  isObject(v) && typeof v.protocol === 'string' && Number.isSafeInteger(v.height) && Number.isSafeInteger(v.appliedHeight) && Array.isArray(v.connectedPeers) && v.connectedPeers.every((p) => Number.isSafeInteger(p));
const isEvidenceList = (v: unknown): v is { evidence: EvidenceRecord[] } => isObject(v) && Array.isArray(v.evidence) && v.evidence.every((e) => isObject(e) && Number.isSafeInteger(e.offender) && typeof e.kind === 'string');

/**
 * Whether an equivocation record proves itself with the validator keys alone (two statements of its
 * offender for one slot and two blocks, both signatures valid): a replica's evidence list is its
 * word, and a forged record must not read as a conviction.
 */
function evidenceCheck(verifier: StatementVerifier, e: EvidenceRecord): string {
  if (e.kind !== 'equivocation') return 'not checked here';
  try {
    const [a, b] = e.statements ?? [];
    if (a === undefined || b === undefined) return 'NOT VERIFIED: no statements';
    const statement = (s: typeof a) => ({ domain: s.domain as DomainTag, view: s.view, sequence: s.sequence, blockHash: fromHex(s.blockHash), signer: s.signer, signature: fromHex(s.signature) });
    return verifyEvidence({ kind: 'equivocation', offender: e.offender, first: statement(a), second: statement(b) }, verifier) ? 'verified' : 'NOT VERIFIED: the statements do not prove it';
  } catch {
    return 'NOT VERIFIED: malformed';
  }
}

/** The mempool's counts in a few words: what it admitted and refused since the replica started. */
function mempoolLine(m: unknown): string {
  const counts = m as { admitted?: number; rejected?: Record<string, number> } | undefined;
  if (typeof counts?.admitted !== 'number') return '';
  const refused = Object.entries(counts.rejected ?? {}).filter(([, n]) => n > 0);
  return `admitted ${counts.admitted}, refused ${refused.length === 0 ? 0 : refused.map(([why, n]) => `${n} ${why}`).join(', ')}`;
}

/** `--replica i`: that replica's index, checked against the cluster (undefined: every replica). */
function onlyReplica(files: ClusterFiles, only: number | undefined): number | undefined {
  if (only !== undefined && only >= files.replicas.length) throw new ConfigError(`--replica ${only}: the cluster has ${files.replicas.length} replicas (0 to ${files.replicas.length - 1})`);
  return only;
}

/** A client of the cluster that asks every replica, or (`--replica i`) that one only: it still trusts the validator keys alone. */
function clientFor(files: ClusterFiles, only: number | undefined) {
  const r = files.replicas[onlyReplica(files, only) ?? 0]!;
  return only === undefined ? clusterClient(files) : clusterClient(files, { replicas: [`http://${r.api.host}:${r.api.port}`] });
}

const replicaOption = () => new Option('--replica <i>', 'ask this replica only (its index in the cluster), not every one').argParser(integerIn(0, 255));

/** GET `path` from every replica of the cluster at once (or the one `only` names): each one's answer, or why there is none (5 s each). */
async function askEach<T>(files: ClusterFiles, path: string, only: number | undefined, isAnswer: (v: unknown) => v is T): Promise<Array<{ replica: number; url: string; answer?: T; error?: string }>> {
  const chosen = onlyReplica(files, only);
  return Promise.all(
    files.replicas.flatMap((r, replica) => (chosen === undefined || chosen === replica ? [{ r, replica }] : [])).map(async ({ r, replica }) => {
      const url = `http://${r.api.host}:${r.api.port}${path}`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) return { replica, url, error: `HTTP ${res.status}` };
        const answer: unknown = await res.json();
        // A replica's word, of any shape: one that is not the expected shape is that replica's error.
        return isAnswer(answer) ? { replica, url, answer } : { replica, url, error: 'an answer of the wrong shape' };
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        return { replica, url, error: cause ?? (e instanceof Error ? e.message : String(e)) };
      }
    }),
  );
}

/** Throws a ConfigError naming the port when something already listens on it. */
async function portFree(at: { host: string; port: number }, what: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      rej(new ConfigError(e.code === 'EADDRINUSE' ? `${what} ${at.host}:${at.port} is in use: stop what holds it, or pick other ports with --base-port` : `${what} ${at.host}:${at.port}: ${e.message}`)),
    );
    probe.listen(at.port, at.host, () => probe.close(() => res()));
  });
}

/** Undefined once every replica answers /v1/status; otherwise why not (one exited, or the time ran out). */
async function waitForReplicas(files: ClusterFiles, exited: ReadonlyArray<string | undefined>, timeoutMs: number, progress?: (up: readonly boolean[]) => void): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  const up = files.replicas.map(() => false);
  let shown = Date.now();
  while (Date.now() < end) {
    if (Date.now() - shown >= 2_000) {
      shown = Date.now();
      progress?.(up);
    }
    const failed = exited.findIndex((e) => e !== undefined);
    if (failed >= 0) return `replica ${failed} exited (${exited[failed]}) while starting`;
    await Promise.all(
      files.replicas.map(async (r, i) => {
        if (up[i]) return;
        up[i] = await fetch(`http://${r.api.host}:${r.api.port}/v1/status`, { signal: AbortSignal.timeout(1000) }).then(
          (res) => res.ok,
          () => false,
        );
      }),
    );
    if (up.every((u) => u)) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  return `replicas ${up.flatMap((u, i) => (u ? [] : [i])).join(', ')} did not answer on their API within ${Math.round(timeoutMs / 1000)} s`;
}

/** The account `--client <i>` (one of the cluster's funded clients) or `--key <hex>` names: its public key (hex). */
function accountKey(files: ClusterFiles, flags: { client?: number; key?: string }): string {
  if ((flags.client === undefined) === (flags.key === undefined)) throw new ConfigError('name the account with --client <i> or --key <hex> (one of them)');
  if (flags.client !== undefined) {
    const secret = files.clients[flags.client];
    if (secret === undefined) throw new ConfigError(`--client ${flags.client}: the cluster has ${files.clients.length} clients (0 to ${files.clients.length - 1})`);
    return toHex(createSignatureScheme().signer(fromHex(secret)).publicKey);
  }
  if (!/^[0-9a-f]{64}$/.test(flags.key!)) throw new ConfigError(`--key ${flags.key}: expected 64 hex digits`);
  return flags.key!;
}

/** `--fees 1,5`: maker and taker fees in basis points. */
function feesOption(value: string): { makerBps: number; takerBps: number } {
  const m = /^([0-9]{1,4}),([0-9]{1,4})$/.exec(value);
  if (m === null || Number(m[1]) > 1_000 || Number(m[2]) > 1_000) throw new InvalidArgumentError('expected maker,taker in basis points, each 0 to 1000 (e.g. 1,5).');
  return { makerBps: Number(m[1]), takerBps: Number(m[2]) };
}

/** What `order`, `cancel` and `deposit` print while they wait (stderr): who took the transaction, then the seconds. */
function progressPrinter(io: Io): (p: Progress) => void {
  return (p) => {
    if (p.stage === 'signed') io.err(`operator nonce ${p.nonce} (if this times out, retry with --nonce ${p.nonce}: refused if the first was final after all, never done twice)\n`);
    else if (p.stage === 'submitted') io.err(`submitted ${p.id.slice(0, 12)} to ${p.accepted.length} replicas${p.refused.length === 0 ? '' : ` (refused by ${p.refused.map((r) => `${r.replica}: ${r.code}`).join(', ')})`}; waiting until it is final\n`);
    else io.err(`  ${p.seconds} s: not final yet\n`);
  };
}

/** What a log file holds past `from` (bytes), its last 64 KiB at most; '' when there is none yet. */
function logTail(file: string, from: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 65_536);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The latest startup event in a replica's log (JSON lines): what `cluster` shows while it waits. */
export function startupLine(text: string): string | undefined {
  let said: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes('"event":"replaying"') && !line.includes('"event":"recovered"')) continue;
    try {
      const e = JSON.parse(line) as { event: string; blocks?: number; snapshotHeight?: number; storedHeight?: number; replayedInputs?: number };
      said = e.event === 'replaying' ? `replaying ${e.blocks} blocks${e.snapshotHeight ? ` above the snapshot at ${e.snapshotHeight}` : ''}` : `recovered to height ${e.storedHeight}, ${e.replayedInputs} logged inputs offered again`;
    } catch {
      // a line cut in the middle: the next look reads it whole
    }
  }
  return said;
}

/** Resolves once the process is asked to stop (Ctrl-C, or SIGTERM). */
const stopRequested = () => new Promise<string>((resolve) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, () => resolve(s))));

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let code = 0;
  const program = new Command('bftx-replica')
    .description('Run bftx replicas: real processes, TCP between them, LevelDB on disk, an HTTP and WebSocket client API.')
    .exitOverride()
    // Needed for `cluster`'s own: options after a subcommand's name are that subcommand's.
    .enablePositionalOptions()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const keys = program.command('keys').description('validator and client keys');
  keys
    .command('gen')
    .description('generate an Ed25519 key pair; prints the public key')
    .requiredOption('-o, --out <file>', 'where to write the key pair (JSON; never overwritten)')
    .action((flags: { out: string }) => {
      const secret = newSecretKey();
      const publicKey = toHex(createSignatureScheme().publicKey(secret));
      try {
        // 'wx': created here or not at all (an existing key is never replaced, even in a race).
        writeFileSync(flags.out, keyPairJson(secret), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') throw new ConfigError(`${flags.out} exists; not overwriting a key`);
        throw e;
      }
      io.out(`${publicKey}\n`);
    });

  program
    .command('start')
    .description('run one replica from its config file until SIGINT or SIGTERM')
    .requiredOption('-c, --config <file>', 'the replica config (JSON)')
    .option('--discard-damaged-log', "if the input log is damaged, drop it and restart from the safety state (default: refuse to start; config field damagedLog)")
    .option('--data-dir <dir>', "the store's folder, instead of the config's dataDir (the container image passes its volume, /data)")
    .action(async (flags: { config: string; discardDamagedLog?: boolean; dataDir?: string }) => {
      const read = readConfig(flags.config, PROTOCOL_NAMES);
      const config = { ...read, ...(flags.discardDamagedLog === true ? { damagedLog: 'discard' as const } : {}), ...(flags.dataDir !== undefined ? { dataDir: resolve(flags.dataDir) } : {}) };
      const replica = await startReplica(config, PROTOCOLS[config.protocol as ProtocolName](config.deltaMs));
      const signal = await Promise.race([stopRequested(), new Promise<string>((resolve) => replica.node.onFailure(() => resolve('failure')))]);
      await replica.stop();
      if (signal === 'failure') code = 1;
    });

  program
    .command('health')
    .description("exit 0 when the replica a config describes answers on its API (GET /v1/status), 1 otherwise: a container's health check")
    .requiredOption('-c, --config <file>', 'the replica config (JSON)')
    .addOption(new Option('--timeout <s>', 'how long to wait for the answer').default(3).argParser(integerIn(1, 600)))
    .action(async (flags: { config: string; timeout: number }) => {
      // 1 for every failure, a bad config included: a container health check reserves 2.
      let api: { host: string; port: number };
      try {
        ({ api } = readConfig(flags.config, PROTOCOL_NAMES));
      } catch (e) {
        io.out(`${e instanceof Error ? e.message : String(e)}\n`);
        code = 1;
        return;
      }
      // A replica listening on every interface answers on loopback.
      const host = api.host === '0.0.0.0' || api.host === '::' ? '127.0.0.1' : api.host;
      try {
        const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${api.port}/v1/status`, { signal: AbortSignal.timeout(flags.timeout * 1000) });
        // An answer that is not OK is not "not answering": say what it was (a 503's body is rarely JSON).
        if (!res.ok) {
          io.out(`answered HTTP ${res.status}: ${(await res.text()).slice(0, 200).replace(/\s+/g, ' ')}\n`);
          code = 1;
          return;
        }
        const s = (await res.json()) as Partial<ReplicaStatus>;
        io.out(`ok: height ${s.height}, peers ${(s.connectedPeers ?? []).join(',') || 'none'}\n`);
      } catch (e) {
        io.out(`not answering on ${host}:${api.port}: ${(e as { cause?: { code?: string } }).cause?.code ?? (e instanceof Error ? e.message : String(e))}\n`);
        code = 1;
      }
    });

  const cluster = program
    .command('cluster')
    .description('start N replica processes on loopback (configs in --dir), print their endpoints, stop them on Ctrl-C; `cluster init` writes a cluster of one replica per host instead')
    // `cluster --dir x init ...` would take --dir as cluster's own and init would not see it: refused.
    .hook('preSubcommand', (thisCommand) => {
      const given = Object.keys(thisCommand.opts()).filter((k) => thisCommand.getOptionValueSource(k) === 'cli');
      if (given.length > 0) throw new ConfigError(`options of \`cluster\` before \`init\` (${given.join(', ')}): put them after it (cluster init --hosts ... --dir ...)`);
    })
    .addOption(new Option('-n, --nodes <n>', 'replicas').default(4).argParser(integerIn(1, 64)))
    .addOption(new Option('-p, --protocol <name>', 'consensus protocol').choices(PROTOCOL_NAMES).default('hotstuff'))
    .option('-d, --dir <dir>', 'cluster directory: configs, keys and data', 'bftx-cluster')
    .addOption(new Option('--base-port <port>', 'replica i listens on base+i for peers and base+100+i for clients').default(7000).argParser(integerIn(1024, 65000)))
    .addOption(new Option('--delta <ms>', 'assumed message delay bound').default(100).argParser(integerIn(1, 60_000)))
    .addOption(new Option('--clients <n>', 'funded client accounts (for `load`)').default(16).argParser(integerIn(1, 10_000)))
    .option('--fresh', 'replace the cluster the directory holds: new configs and keys, its data deleted')
    .option('--reuse', 'start the cluster the directory already holds (its configs, keys and data)')
    .addOption(new Option('--start-timeout <s>', 'how long each replica may take to answer on its API').default(30).argParser(integerIn(1, 3_600)))
    .addOption(new Option('--ordering <who>', "who orders a block's transactions: the leader, or fair (leader-proof: signed receive logs, checked by the voters)").choices(ORDERINGS).default('leader'))
    .addOption(new Option('--matching <how>', "how the cluster's market matches: continuous (order by order), or batch (one uniform-price auction per block)").choices(['continuous', 'batch']).default('continuous'))
    .addOption(new Option('--logs <where>', "each replica's log (JSON lines): files writes <dir>/logs/replica-<i>.log (appended), stdout passes them through prefixed [r<i>], none drops them").choices(['files', 'stdout', 'none']).default('files'))
    .addOption(new Option('--fees <maker,taker>', 'maker and taker fees in basis points of the notional (e.g. 1,5; default none)').argParser(feesOption))
    .option('--operator', 'generate an operator key (kept in cluster.json) so that `deposit` and `withdraw` work (default: none; only the funded clients trade)')
    .action(async (flags: { nodes: number; protocol: ProtocolName; dir: string; basePort: number; delta: number; clients: number; fresh?: boolean; reuse?: boolean; startTimeout: number; ordering: Ordering; matching: 'continuous' | 'batch'; logs: 'files' | 'stdout' | 'none'; fees?: { makerBps: number; takerBps: number }; operator?: boolean }, command: Command) => {
      const dir = resolve(flags.dir);
      const existing = existsSync(join(dir, 'cluster.json'));
      // A cluster of hosts (`cluster init`) is not started here, and --fresh would replace its keys, the operator's among them.
      if (existing && readCluster(dir).hosts === true) throw new ConfigError(`${dir} holds a cluster of hosts written by \`cluster init\`: its replicas run on their hosts (or from its manifests), not here; pick another --dir`);
      if (existing && flags.fresh !== true && flags.reuse !== true) {
        const old = readCluster(dir);
        throw new ConfigError(`${dir} already holds a ${old.protocol} cluster of ${old.replicas.length} replicas: pass --reuse to start it again (its keys and data), or --fresh to replace it`);
      }
      // New keys over old data would start replicas on another cluster's chain and safety state.
      if (existing && flags.fresh === true) rmSync(join(dir, 'data'), { recursive: true, force: true });
      const reused = existing && flags.fresh !== true;
      // The configs in the directory decide; an option that contradicts them is refused, not ignored in silence.
      if (reused && command.getOptionValueSource('ordering') === 'cli' && (readCluster(dir).ordering ?? 'leader') !== flags.ordering) {
        throw new ConfigError(`--ordering ${flags.ordering}: the cluster in ${dir} was written with ${readCluster(dir).ordering ?? 'leader'} ordering; pass --fresh to replace it`);
      }
      for (const written of ['fees', 'operator'] as const) {
        if (reused && flags[written] !== undefined) throw new ConfigError(`--${written}: the cluster in ${dir} keeps the ${written === 'fees' ? 'fees' : 'operator key'} it was written with; pass --fresh to replace it`);
      }
      const files: ClusterFiles =
        reused ? readCluster(dir) : writeClusterFiles(dir, { nodes: flags.nodes, protocol: flags.protocol, host: '127.0.0.1', basePort: flags.basePort, deltaMs: flags.delta, clients: flags.clients, ordering: flags.ordering, matching: flags.matching, ...(flags.fees !== undefined ? { fees: flags.fees } : {}), operator: flags.operator === true });
      // Every port free before anything starts: otherwise each replica fails on its own, later.
      for (const [i, r] of files.replicas.entries()) {
        await portFree(r.peer, `replica ${i}'s peer port`);
        await portFree(r.api, `replica ${i}'s API port`);
      }
      const main = resolve(process.argv[1]!); // this program's own script
      let stopping = false;
      const exited: Array<string | undefined> = files.replicas.map(() => undefined);
      const logDir = join(dir, 'logs');
      if (flags.logs === 'files') mkdirSync(logDir, { recursive: true });
      // What each replica last said about its start (replaying, recovered): shown while `cluster` waits.
      const startup: Array<string | undefined> = files.replicas.map(() => undefined);
      const logOffsets = files.replicas.map((_, i) => (flags.logs === 'files' && existsSync(join(logDir, `replica-${i}.log`)) ? statSync(join(logDir, `replica-${i}.log`)).size : 0));
      const children: ChildProcess[] = files.replicas.map((r, i) => {
        // A replica's log: a file of its own (the descriptor is the child's stdout), or lines prefixed here.
        const out = flags.logs === 'files' ? openSync(join(logDir, `replica-${i}.log`), 'a') : flags.logs === 'stdout' ? 'pipe' : 'ignore';
        const child = spawn(process.execPath, [main, 'start', '--config', r.config], { stdio: ['ignore', out, 'inherit'] });
        if (typeof out === 'number') closeSync(out);
        if (child.stdout !== null)
          createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
            startup[i] = startupLine(line) ?? startup[i];
            io.out(`[r${i}] ${line}\n`);
          });
        child.on('exit', (c, s) => {
          exited[i] = String(s ?? c);
          if (!stopping) io.err(`replica ${i} exited (${s ?? c})\n`);
        });
        return child;
      });
      const stopAll = async () => {
        stopping = true;
        await Promise.all(children.map((c) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGTERM'))))));
      };
      // Up means answering on its API; a replica that exits first failed to start (its reason is on stderr above).
      const began = Date.now();
      const progress = (up: readonly boolean[]) => {
        const waiting = up.flatMap((u, i) => {
          if (u) return [];
          if (flags.logs === 'files') {
            startup[i] = startupLine(logTail(join(logDir, `replica-${i}.log`), logOffsets[i]!)) ?? startup[i];
          }
          return [`replica ${i} ${startup[i] ?? 'starting'}`];
        });
        io.out(`  ${Math.round((Date.now() - began) / 1000)} s: ${up.filter((u) => u).length} of ${up.length} answering; ${waiting.join('; ')}\n`);
      };
      const ready = await waitForReplicas(files, exited, flags.startTimeout * 1000, progress);
      if (ready !== undefined) {
        await stopAll();
        io.err(`error: ${ready}; the cluster is stopped\n`);
        code = 1;
        return;
      }
      io.out(`${files.protocol}${files.ordering === 'fair' ? ' (fair ordering)' : ''} cluster of ${files.replicas.length} in ${dir}\n`);
      files.replicas.forEach((r, i) => io.out(`  replica ${i}: peers ${r.peer.host}:${r.peer.port}  api http://${r.api.host}:${r.api.port}/v1/status  metrics http://${r.api.host}:${r.api.port}/metrics\n`));
      if (flags.logs === 'files') io.out(`  logs: ${logDir}/replica-<i>.log\n`);
      io.out('Ctrl-C stops them.\n');
      await stopRequested();
      await stopAll();
    });

  cluster
    .command('init')
    .description('write a cluster of one replica per host, to run with the container image or by hand: hosts/replica-<i>/ (config and key: copy to host i), kubernetes/ and podman/ manifests, compose.yaml, and cluster.json for the commands below')
    .requiredOption('--hosts <list>', "the replicas' addresses, comma-separated, one per replica (peers and clients reach replica i at the i-th); on Kubernetes without --host-network: <name>-0,<name>-1,... (the Services the manifests create)")
    .addOption(new Option('-p, --protocol <name>', 'consensus protocol').choices(PROTOCOL_NAMES).default('hotstuff'))
    .requiredOption('-d, --dir <dir>', 'where to write it: a new or empty folder (it will hold every key)')
    .addOption(new Option('--base-port <port>', 'replica i listens on base+i for peers and base+100+i for clients').default(7000).argParser(integerIn(1024, 65000)))
    .addOption(new Option('--delta <ms>', 'assumed message delay bound').default(100).argParser(integerIn(1, 60_000)))
    .addOption(new Option('--clients <n>', 'funded client accounts (for `load`)').default(16).argParser(integerIn(1, 10_000)))
    .addOption(new Option('--ordering <who>', "who orders a block's transactions").choices(ORDERINGS).default('leader'))
    .addOption(new Option('--matching <how>', "how the market matches").choices(['continuous', 'batch']).default('continuous'))
    .addOption(new Option('--fees <maker,taker>', 'maker and taker fees in basis points (e.g. 1,5; default none)').argParser(feesOption))
    .option('--operator', 'generate an operator key (kept in cluster.json) so that `deposit` and `withdraw` work')
    .option('--bind <address>', 'the address each replica listens on (peer port and API)', '0.0.0.0')
    .option('--image <ref>', 'the container image the manifests run (build it: apps/replica/README.md, "Container image")', 'localhost/bftx-replica:0.1.0')
    .option('--host-network', "pods and compose services use their machine's network (hosts are the machines' addresses) instead of a pod network")
    .option('--node-names <list>', 'with --host-network on Kubernetes: the node each replica runs on (kubernetes.io/hostname), comma-separated in --hosts order, so that replica i runs where --hosts says')
    .option('--name <prefix>', 'Kubernetes objects and compose services are named <prefix>-<i>', 'bftx-replica')
    .action((flags: { hosts: string; protocol: ProtocolName; dir: string; basePort: number; delta: number; clients: number; ordering: Ordering; matching: 'continuous' | 'batch'; fees?: { makerBps: number; takerBps: number }; operator?: boolean; bind: string; image: string; hostNetwork?: boolean; nodeNames?: string; name: string }) => {
      const hosts = flags.hosts.split(',').map((h) => h.trim());
      const dir = resolve(flags.dir);
      const nodeNames = flags.nodeNames?.split(',').map((h) => h.trim());
      const files = writeDeployment(dir, { hosts, protocol: flags.protocol, basePort: flags.basePort, deltaMs: flags.delta, clients: flags.clients, ordering: flags.ordering, matching: flags.matching, ...(flags.fees !== undefined ? { fees: flags.fees } : {}), operator: flags.operator === true, bind: flags.bind, image: flags.image, hostNetwork: flags.hostNetwork === true, ...(nodeNames !== undefined ? { nodeNames } : {}), name: flags.name });
      io.out(`${files.protocol} cluster of ${hosts.length} written to ${dir}:\n`);
      hosts.forEach((h, i) => io.out(`  replica ${i} on ${h}: peers :${flags.basePort + i}, api :${flags.basePort + 100 + i}; its files: hosts/replica-${i}/ (config/node.json, key/validator.key: secret)\n`));
      io.out(`  kubernetes/ (secret: holds the keys): kubectl apply -f ${join(dir, 'kubernetes')} (per validator a Secret, a ConfigMap, a Service, a StatefulSet)\n`);
      io.out(`  podman/ (secret): the same pods for podman kube play (each -storage file once, then the validator's file)\n`);
      io.out(`  compose.yaml: every replica on one machine\n`);
      io.out(`  cluster.json: the client keys${files.operator !== undefined ? ' and the operator key' : ''} (secret) for status, load, order, deposit: --dir ${flags.dir}\n`);
    });

  program
    .command('order')
    .description("sign an order with one of the cluster's client keys, send it to every replica, and wait until it is final")
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .addOption(new Option('-c, --client <i>', "which of the cluster's funded clients signs").default(0).argParser(integerIn(0, 10_000)))
    .addOption(new Option('--side <side>', 'buy or sell').choices(['buy', 'sell']).makeOptionMandatory())
    .addOption(new Option('--price <ticks>', 'limit price').argParser(integerIn(1, Number.MAX_SAFE_INTEGER)).makeOptionMandatory())
    .addOption(new Option('--size <lots>', 'quantity').argParser(integerIn(1, Number.MAX_SAFE_INTEGER)).makeOptionMandatory())
    .addOption(new Option('--tif <tif>', 'time in force').choices(['GTC', 'IOC', 'FOK']).default('GTC'))
    .addOption(new Option('--timeout <s>', 'how long to wait for finality').default(30).argParser(integerIn(1, 3_600)))
    .action(async (flags: { dir: string; client: number; side: 'buy' | 'sell'; price: number; size: number; tif: 'GTC' | 'IOC' | 'FOK'; timeout: number }) => {
      const files = readCluster(flags.dir);
      const secret = files.clients[flags.client];
      if (secret === undefined) throw new ConfigError(`--client ${flags.client}: the cluster has ${files.clients.length} clients (0 to ${files.clients.length - 1})`);
      const result = await placeOrder(files, fromHex(secret), { symbol: MARKET.symbol, side: flags.side, price: flags.price, size: flags.size, tif: flags.tif }, flags.timeout * 1000, progressPrinter(io));
      io.out(JSON.stringify(result, null, 2) + '\n');
      if (result.receipt.status !== 'executed') code = 1;
    });

  program
    .command('cancel')
    .description("cancel an open order of one of the cluster's clients (its id is the nonce `order` printed) and wait until the cancel is final")
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .addOption(new Option('-c, --client <i>', "which of the cluster's funded clients owns the order").default(0).argParser(integerIn(0, 10_000)))
    .addOption(new Option('--order <id>', "the order's client id (`order` prints it as nonce; `account` lists open orders)").argParser(integerIn(0, Number.MAX_SAFE_INTEGER)).makeOptionMandatory())
    .addOption(new Option('--timeout <s>', 'how long to wait for finality').default(30).argParser(integerIn(1, 3_600)))
    .action(async (flags: { dir: string; client: number; order: number; timeout: number }) => {
      const files = readCluster(flags.dir);
      const secret = files.clients[flags.client];
      if (secret === undefined) throw new ConfigError(`--client ${flags.client}: the cluster has ${files.clients.length} clients (0 to ${files.clients.length - 1})`);
      const result = await cancelOrder(files, fromHex(secret), MARKET.symbol, flags.order, flags.timeout * 1000, progressPrinter(io));
      io.out(JSON.stringify(result, null, 2) + '\n');
      if (result.receipt.status !== 'executed') code = 1;
    });

  for (const kind of ['deposit', 'withdraw'] as const) {
    program
      .command(kind)
      .description(`${kind === 'deposit' ? 'credit' : 'debit'} an account, signed with the operator key cluster.json holds (a cluster made with --operator), and wait until it is final`)
      .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
      .addOption(new Option('-c, --client <i>', "one of the cluster's funded clients").argParser(integerIn(0, 10_000)))
      .option('--key <hex>', "any account's public key (hex): a deposit opens it")
      .addOption(new Option('--asset <name>', 'the asset').choices([MARKET.base, MARKET.quote]).makeOptionMandatory())
      .addOption(new Option('--amount <units>', 'a whole amount of minor units').argParser((v) => {
        if (!/^[1-9][0-9]{0,28}$/.test(v) || BigInt(v) > MAX_AMOUNT) throw new InvalidArgumentError(`expected a positive whole number of minor units, at most 2^96 - 1 (${MAX_AMOUNT}).`);
        return BigInt(v);
      }).makeOptionMandatory())
      .addOption(new Option('--nonce <n>', "the operator nonce (default: the proven last one + 1); to retry one whose outcome is unknown, pass the nonce it printed").argParser(integerIn(1, Number.MAX_SAFE_INTEGER)))
      .addOption(new Option('--timeout <s>', 'how long to wait for finality').default(30).argParser(integerIn(1, 3_600)))
      .action(async (flags: { dir: string; client?: number; key?: string; asset: string; amount: bigint; nonce?: number; timeout: number }) => {
        const files = readCluster(flags.dir);
        const key = accountKey(files, flags);
        const result = await transfer(files, { kind, account: key, asset: flags.asset, amount: flags.amount, ...(flags.nonce !== undefined ? { nonce: flags.nonce } : {}) }, flags.timeout * 1000, progressPrinter(io));
        io.out(JSON.stringify(result, null, 2) + '\n');
        if (result.receipt.status !== 'executed') code = 1;
      });
  }

  program
    .command('load')
    .description('offer signed orders to a cluster at a steady rate; report submit-to-final latency')
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .addOption(new Option('-r, --rate <orders/s>', 'orders offered per second').default(500).argParser(integerIn(1, 1_000_000)))
    .addOption(new Option('-t, --duration <s>', 'seconds of load').default(10).argParser(integerIn(1, 86_400)))
    .option('--json', 'print the report as one JSON line')
    .action(async (flags: { dir: string; rate: number; duration: number; json?: boolean }) => {
      // Progress on stderr, once a second: orders sent and final so far.
      let shown = performance.now();
      const began = shown;
      const onTick = (sent: number, final: number) => {
        if (performance.now() - shown < 1_000) return;
        shown = performance.now();
        io.err(`  ${Math.round((shown - began) / 1000)} s: ${sent} sent, ${final} final\n`);
      };
      const report = await runLoad(readCluster(flags.dir), { rate: flags.rate, durationS: flags.duration, onTick });
      for (const [replica, f] of Object.entries(report.failedSubmissions)) io.err(`replica ${replica}: ${f.submissions} submissions failed (last: ${f.reason})\n`);
      if (flags.json === true) io.out(JSON.stringify(report) + '\n');
      else {
        io.out(`offered ${report.offeredPerS}/s for ${report.durationS} s: ${report.submitted} orders, ${report.refused} refused, ${report.finalized} finalized (${report.finalizedPerS}/s)\n`);
        io.out(`submit-to-final latency ms: p50 ${report.latencyMs.p50}  p90 ${report.latencyMs.p90}  p99 ${report.latencyMs.p99}  max ${report.latencyMs.max}\n`);
        io.out(`receipts proven through @bftx/client (certificate, attestations, Merkle path): ${report.provenReceipts.proven} of ${report.provenReceipts.sampled} sampled\n`);
      }
      // The counts are the streaming replica's word; the proven sample is not: every receipt sampled
      // must prove, or the run failed (a replica that streams made-up blocks passes nothing else).
      if (report.garbledStreamMessages > 0) io.err(`the stream sent ${report.garbledStreamMessages} messages that were not JSON (skipped)\n`);
      if (report.provenReceipts.proven < report.provenReceipts.sampled) io.err(`error: ${report.provenReceipts.sampled - report.provenReceipts.proven} of ${report.provenReceipts.sampled} receipts the stream called final could not be proven\n`);
      if (report.finalized === 0 || report.provenReceipts.proven < report.provenReceipts.sampled) code = 1;
    });

  // An operator's view of a running cluster. status and evidence are each replica's own word (one
  // line per replica; one that does not answer is named and the exit code is 1); book and account
  // are proven through @bftx/client (certificate, f+1 attestations, Merkle proof): they trust the
  // validator keys in cluster.json and no replica.
  program
    .command('status')
    .description("each replica's own word on itself (GET /v1/status): finalized and applied height, peers connected, mempool; names a replica that does not answer")
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .option('--json', 'one JSON object: a status, or an error, per replica')
    .addOption(replicaOption())
    .action(async (flags: { dir: string; json?: boolean; replica?: number }) => {
      const replicas = await askEach(readCluster(flags.dir), '/v1/status', flags.replica, isStatus);
      if (flags.json === true) io.out(JSON.stringify({ replicas }) + '\n');
      else
        for (const r of replicas) {
          const s = r.answer;
          io.out(s === undefined ? `replica ${r.replica}  ${r.url}  not answering: ${r.error}\n` : `replica ${r.replica}  ${s.protocol}  height ${s.height} (applied ${s.appliedHeight})  peers ${s.connectedPeers.join(',') || 'none'}  ${mempoolLine(s.mempool)}\n`);
        }
      if (replicas.some((r) => r.answer === undefined)) code = 1;
    });

  program
    .command('evidence')
    .description('the evidence each replica holds (GET /v1/evidence): one record per offender, its signed statements, checkable with the validator keys')
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .option('--json', 'one JSON object: the records, or an error, per replica')
    .addOption(replicaOption())
    .action(async (flags: { dir: string; json?: boolean; replica?: number }) => {
      const files = readCluster(flags.dir);
      const replicas = await askEach(files, '/v1/evidence', flags.replica, isEvidenceList);
      // One verifier for every record: the validator keys may come from a config file (clusterValidators).
      const verifier = new StatementVerifier(new ValidatorSet(clusterValidators(files).map(fromHex)), createSignatureScheme());
      if (flags.json === true) io.out(JSON.stringify({ replicas: replicas.map((r) => (r.answer === undefined ? r : { ...r, answer: r.answer.evidence.map((e) => ({ ...e, check: evidenceCheck(verifier, e) })) })) }) + '\n');
      else
        for (const r of replicas) {
          if (r.answer === undefined) io.out(`replica ${r.replica}  not answering: ${r.error}\n`);
          else {
            const list = r.answer.evidence;
            io.out(`replica ${r.replica}  ${list.length === 0 ? 'no evidence' : list.map((e) => `validator ${e.offender}: ${e.kind} (${evidenceCheck(verifier, e)})`).join('; ')}\n`);
          }
        }
      if (replicas.some((r) => r.answer === undefined)) code = 1;
    });

  program
    .command('book')
    .description("the market's order book at a certified height, proven (through @bftx/client: no replica is trusted)")
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .addOption(new Option('--depth <levels>', 'price levels a side').default(10).argParser(integerIn(1, 1_000)))
    .option('--json', 'one JSON object')
    .addOption(replicaOption())
    .action(async (flags: { dir: string; depth: number; json?: boolean; replica?: number }) => {
      const files = readCluster(flags.dir);
      // Every replica asked, the proven answer at the highest certified height kept: a replica may
      // serve an old answer (still proven: it was true then).
      const book = flags.replica === undefined ? await freshest(files, (c) => c.book(MARKET.symbol, flags.depth)) : await clientFor(files, flags.replica).book(MARKET.symbol, flags.depth);
      if (flags.json === true) io.out(JSON.stringify(book) + '\n');
      else {
        io.out(`${book.symbol} at height ${book.certified.height} (attested by ${book.certified.attesters.join(',')})\n`);
        const rows = Math.max(book.bids.length, book.asks.length);
        io.out(`${'bid size'.padStart(10)} ${'bid'.padStart(10)} | ${'ask'.padEnd(10)} ${'ask size'.padEnd(10)}\n`);
        for (let i = 0; i < rows; i++) {
          const b = book.bids[i];
          const a = book.asks[i];
          io.out(`${(b ? String(b.size) : '').padStart(10)} ${(b ? String(b.price) : '').padStart(10)} | ${(a ? String(a.price) : '').padEnd(10)} ${(a ? String(a.size) : '').padEnd(10)}\n`);
        }
        if (rows === 0) io.out('(empty)\n');
      }
    });

  program
    .command('account')
    .description("a client account's balances, nonce and open orders at a certified height, proven (through @bftx/client)")
    .option('-d, --dir <dir>', 'the cluster directory (`cluster --dir`)', 'bftx-cluster')
    .addOption(new Option('-c, --client <i>', "one of the cluster's funded clients").argParser(integerIn(0, 10_000)))
    .option('--key <hex>', "any account's public key (hex)")
    .option('--json', 'one JSON object (balances as decimal strings)')
    .addOption(replicaOption())
    .action(async (flags: { dir: string; client?: number; key?: string; json?: boolean; replica?: number }) => {
      const files = readCluster(flags.dir);
      const key = accountKey(files, flags);
      const account = flags.replica === undefined ? await freshest(files, (c) => c.account(key)) : await clientFor(files, flags.replica).account(key);
      if (flags.json === true) io.out(JSON.stringify(account, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      else {
        io.out(`account ${account.key} at height ${account.certified.height}: nonce ${account.nonce}\n`);
        for (const [asset, b] of Object.entries(account.balances ?? {})) io.out(`  ${asset}: ${b.available} available, ${b.reserved} reserved\n`);
        io.out(account.orders.length === 0 ? '  no open orders\n' : account.orders.map((o) => `  open order ${o.clientId}: ${o.side} ${o.remaining} at ${o.price}\n`).join(''));
      }
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      io.err(`error: ${e.message}\n`);
      return 2;
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
