// What an operator runs (issue 21): configs that name their key file, `cluster init` writing a
// cluster of one replica per host (configs, keys, Kubernetes manifests, compose file), and a live
// cluster with fees and an operator key: deposit, withdraw, cancel, progress, health.
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createSignatureScheme, Domains, toHex } from '@bftx/crypto';
import { WebSocketServer } from 'ws';
import { readConfig, writeClusterFiles, type ClusterFiles } from '@bftx/node';
import { parseAllDocuments } from 'yaml';
import { main, startupLine } from '../src/cli';
import { capture, exited, freeBase, rng, tempDirs, until } from './processes';

const PROTOCOLS = ['hotstuff', 'streamlet', 'pbft'];

const tmp = tempDirs('bftx-operator-');

describe('a config may name its key file (secretKeyFile) instead of holding the key', () => {
  const setup = () => {
    const dir = tmp();
    const files = writeClusterFiles(dir, { nodes: 4, protocol: 'pbft', host: '127.0.0.1', basePort: 20_000, deltaMs: 50, clients: 1 });
    const config = JSON.parse(readFileSync(files.replicas[1]!.config, 'utf8')) as Record<string, unknown> & { secretKey: string };
    const write = (c: Record<string, unknown>) => {
      const file = join(dir, 'edited.json');
      writeFileSync(file, JSON.stringify(c));
      return file;
    };
    const pair = (secret: string) => JSON.stringify({ publicKey: toHex(createSignatureScheme().publicKey(Buffer.from(secret, 'hex'))), secretKey: secret });
    return { dir, files, config, write, pair };
  };

  test('the key pair `keys gen` writes, found relative to the config, is read as the key', () => {
    const { dir, config, write, pair } = setup();
    const { secretKey, ...rest } = config;
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'v1.key'), pair(secretKey));
    expect(toHex(readConfig(write({ ...rest, secretKeyFile: 'keys/v1.key' }), PROTOCOLS).secretKey)).toBe(secretKey);
    // As podman 4.3's kube play mounts a Secret (its data still base64): read the same.
    writeFileSync(join(dir, 'keys', 'v1.b64'), Buffer.from(pair(secretKey)).toString('base64'));
    expect(toHex(readConfig(write({ ...rest, secretKeyFile: 'keys/v1.b64' }), PROTOCOLS).secretKey)).toBe(secretKey);
  });

  test('both, neither, a missing file, or a key that is not this validator\'s: refused, naming the field', async () => {
    const { dir, files, config, write, pair } = setup();
    const { secretKey, ...rest } = config;
    writeFileSync(join(dir, 'v1.key'), pair(secretKey));
    const refused = async (c: Record<string, unknown>, message: RegExp) => {
      const io = capture();
      expect(await main(['start', '--config', write(c)], io)).toBe(2);
      expect(io.stderr()).toMatch(message);
    };
    await refused({ ...config, secretKeyFile: 'v1.key' }, /secretKey: expected .* exactly one of the two/);
    await refused(rest, /secretKey: expected .* exactly one of the two/);
    await refused({ ...rest, secretKeyFile: 'nothere.key' }, /secretKeyFile: cannot read a key pair from .*nothere\.key/);
    writeFileSync(join(dir, 'bare.key'), `${secretKey}\n`);
    await refused({ ...rest, secretKeyFile: 'bare.key' }, /secretKeyFile: cannot read a key pair from .*bare\.key: it holds a bare key; expected a key pair/);
    // Replica 0's key in replica 1's config: it would sign what every peer refuses.
    const other = (JSON.parse(readFileSync(files.replicas[0]!.config, 'utf8')) as { secretKey: string }).secretKey;
    await refused({ ...rest, secretKey: other }, /secretKey: its public key is not validators\[1\]\.publicKey \(self is 1\)/);
    writeFileSync(join(dir, 'v0.key'), pair(other));
    await refused({ ...rest, secretKeyFile: 'v0.key' }, /secretKeyFile \(v0\.key\): its public key is not validators\[1\]\.publicKey/);
  });
});

describe('cluster init --hosts: a cluster of one replica per host', () => {
  const hosts = ['bftx-replica-0', 'bftx-replica-1', 'bftx-replica-2', 'bftx-replica-3'];

  test('each host\'s config and key, manifests whose ConfigMap and Secret make a config that loads, a compose file, and cluster.json', async () => {
    const dir = join(tmp(), 'c');
    const io = capture();
    // Options after `init` are init's (-p here is not `cluster`'s own -p).
    expect(await main(['cluster', 'init', '--hosts', hosts.join(','), '--dir', dir, '-p', 'streamlet', '--base-port', '9000', '--fees', '1,5', '--operator'], io)).toBe(0);
    expect(io.stdout()).toMatch(/^streamlet cluster of 4 written to /);
    const files = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFiles;
    // Every file that holds a key is the operator's alone: cluster.json, each key, each manifest (its Secret).
    expect(statSync(join(dir, 'cluster.json')).mode & 0o077).toBe(0);
    for (const folder of ['kubernetes', 'podman']) {
      expect(statSync(join(dir, folder)).mode & 0o077).toBe(0);
      for (let i = 0; i < 4; i++) expect(statSync(join(dir, folder, `bftx-replica-${i}.yaml`)).mode & 0o077).toBe(0);
    }
    expect(files.replicas.map((r) => r.api)).toEqual(hosts.map((host, i) => ({ host, port: 9100 + i })));
    expect(files.operator).toMatch(/^[0-9a-f]{64}$/);
    for (let i = 0; i < 4; i++) {
      // On a host: the copied folder runs as it is (key and data next to the config).
      const host = join(dir, 'hosts', `replica-${i}`);
      expect(statSync(join(host, 'key', 'validator.key')).mode & 0o077).toBe(0);
      const c = readConfig(join(host, 'config', 'node.json'), PROTOCOLS);
      expect(c).toMatchObject({ protocol: 'streamlet', self: i, listen: { host: '0.0.0.0', port: 9000 + i }, api: { host: '0.0.0.0', port: 9100 + i }, dataDir: join(host, 'data') });
      expect(c.peers).toEqual(hosts.map((h, j) => ({ host: h, port: 9000 + j })));
      expect(c.exchange.fees).toEqual({ makerBps: 1, takerBps: 5 });
      expect(toHex(c.exchange.operator!)).toBe(toHex(createSignatureScheme().publicKey(Buffer.from(files.operator!, 'hex'))));
      expect(toHex(c.validatorKeys[i]!)).toBe(files.validators![i]);

      // In Kubernetes: the manifest's ConfigMap and Secret, mounted as the Deployment says, load.
      const docs = parseAllDocuments(readFileSync(join(dir, 'kubernetes', `bftx-replica-${i}.yaml`), 'utf8')).map((d) => d.toJS() as any);
      expect(docs.map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Service', 'StatefulSet']);
      const [secret, configMap, service, statefulSet] = docs;
      const spec = statefulSet.spec.template.spec;
      const container = spec.containers[0];
      const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.name, m.mountPath]));
      const etc = tmp();
      mkdirSync(join(etc, mounts.config), { recursive: true });
      mkdirSync(join(etc, mounts.key), { recursive: true });
      writeFileSync(join(etc, mounts.config, 'node.json'), configMap.data['node.json']);
      writeFileSync(join(etc, mounts.key, 'validator.key'), Buffer.from(secret.data['validator.key'], 'base64'));
      expect(container.args.slice(0, 3)).toEqual(['start', '--config', `${mounts.config}/node.json`]);
      const inPod = readConfig(join(etc, container.args[2]), PROTOCOLS);
      expect(toHex(inPod.secretKey)).toBe(toHex(c.secretKey));
      expect(container.args.slice(3)).toEqual(['--data-dir', `${mounts.data}/store`]);
      expect(spec.volumes).toEqual([
        { name: 'config', configMap: { name: `bftx-replica-${i}-config` } },
        { name: 'key', secret: { secretName: `bftx-replica-${i}-key`, optional: false, defaultMode: 0o440 } },
      ]);
      // One pod per validator, never two at once (a StatefulSet), its volume from the claim template, not root, ready when it answers.
      expect(statefulSet.spec).toMatchObject({ replicas: 1, serviceName: hosts[i], volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }] });
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(spec.hostNetwork).toBeUndefined();
      expect(spec.nodeSelector).toBeUndefined();
      expect(container.readinessProbe.httpGet).toEqual({ path: '/v1/status', port: 9100 + i });
      expect(service.metadata.name).toBe(hosts[i]);
      // Peers reach a replica that is not ready yet (catching up): headless, not-ready addresses listed.
      expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(service.spec.ports.map((p: any) => p.port)).toEqual([9000 + i, 9100 + i]);
      expect(service.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);
      expect(statefulSet.spec.template.metadata.labels).toEqual(statefulSet.spec.selector.matchLabels);
      // For podman: the claim (named as the StatefulSet's would be) in a file of its own, and the pod as a Deployment.
      const storage = parseAllDocuments(readFileSync(join(dir, 'podman', `bftx-replica-${i}-storage.yaml`), 'utf8')).map((d) => d.toJS() as any);
      expect(storage).toEqual([expect.objectContaining({ kind: 'PersistentVolumeClaim', metadata: expect.objectContaining({ name: `data-bftx-replica-${i}-0` }) })]);
      const podman = parseAllDocuments(readFileSync(join(dir, 'podman', `bftx-replica-${i}.yaml`), 'utf8')).map((d) => d.toJS() as any);
      expect(podman.map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Deployment']);
      expect(podman[3 - 1].spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    }
    const compose = parseAllDocuments(readFileSync(join(dir, 'compose.yaml'), 'utf8'))[0]!.toJS() as any;
    expect(Object.keys(compose.services)).toEqual(hosts);
    expect(compose.services['bftx-replica-2']).toMatchObject({ image: 'localhost/bftx-replica:0.1.0', ports: ['9002:9002', '9102:9102'], volumes: ['./hosts/replica-2/config:/etc/bftx/config:ro', './hosts/replica-2/key:/etc/bftx/key:ro', 'bftx-replica-2-data:/data'] });
    expect(Object.keys(compose.volumes)).toHaveLength(4);

    // Never over a cluster: its keys would be lost.
    const again = capture();
    expect(await main(['cluster', 'init', '--hosts', hosts.join(','), '--dir', dir], again)).toBe(2);
    expect(again.stderr()).toMatch(/is not empty \(it holds a cluster: cluster\.json\): pick a new or empty --dir/);
    // Nor is it a local cluster to start, or to replace with --fresh (the operator key is in it).
    for (const how of ['--reuse', '--fresh']) {
      const local = capture();
      expect(await main(['cluster', '--dir', dir, how], local)).toBe(2);
      expect(local.stderr()).toMatch(/holds a cluster of hosts written by `cluster init`/);
    }
    expect(JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'))).toEqual(files);
  });

  test('--host-network: pods on the nodes\' network, no port mappings; bad hosts and names refused', async () => {
    const dir = join(tmp(), 'c');
    expect(await main(['cluster', 'init', '--hosts', '10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4', '--dir', dir, '--host-network', '--node-names', 'n1,n2,n3,n4', '--name', 'venue'], capture())).toBe(0);
    const statefulSet = parseAllDocuments(readFileSync(join(dir, 'kubernetes', 'venue-3.yaml'), 'utf8')).map((d) => d.toJS() as any)[3];
    // Replica 3 runs on the node whose address peers dial (10.0.0.4: n4).
    expect(statefulSet.spec.template.spec).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', nodeSelector: { 'kubernetes.io/hostname': 'n4' } });
    expect(statefulSet.spec.template.spec.containers[0].ports).toBeUndefined();
    const compose = parseAllDocuments(readFileSync(join(dir, 'compose.yaml'), 'utf8'))[0]!.toJS() as any;
    expect(compose.services['venue-0'].network_mode).toBe('host');
    for (const [args, message] of [
      [['--hosts', 'a,b c'], /--hosts: host 1 \("b c"\) is not a host name or IPv4 address/],
      // An IPv6 literal or a port would make URLs nothing can parse (an outside review found both accepted).
      [['--hosts', 'a,fe80::1'], /--hosts: host 1 \("fe80::1"\) is not a host name or IPv4 address \(no port/],
      [['--hosts', 'a,127.0.0.1:9999'], /--hosts: host 1 \("127.0.0.1:9999"\) is not a host name or IPv4 address/],
      [['--hosts', 'a,b', '--name', 'Venue_1'], /--name Venue_1: expected a DNS label/],
      [['--hosts', 'a', '--fees', '5'], /expected maker,taker in basis points/],
      [['--hosts', 'a,b', '--host-network', '--node-names', 'n1'], /--node-names: expected 2 names, one per host, got 1/],
      [['--hosts', 'a,b', '--node-names', 'n1,n2'], /--node-names pins replicas to nodes for --host-network/],
      [['--hosts', 'a,b', '--host-network', '--node-names', 'n1,x/y'], /--node-names: name 1 \("x\/y"\) is not a Kubernetes label value/],
      // A bind address the replica's config reader refuses, or an empty image: every replica would fail to start.
      [['--hosts', 'a', '--bind', ''], /--bind "": expected an IP address/],
      [['--hosts', 'a', '--bind', 'not an address'], /--bind "not an address": expected an IP address/],
      [['--hosts', 'a', '--image', ''], /--image "": expected an image reference/],
      [['--hosts', 'a', '--clients', '1001'], /--clients 1001: at most 1000 for a cluster of hosts/],
    ] as const) {
      const io = capture();
      expect(await main(['cluster', 'init', ...args, '--dir', join(tmp(), 'c')], io)).toBe(2);
      expect(io.stderr()).toMatch(message);
    }
    // `cluster`'s own options before `init` would be lost on the way: refused, not ignored.
    const before = capture();
    const lost = join(tmp(), 'lost');
    expect(await main(['cluster', '--dir', lost, 'init', '--hosts', 'a'], before)).toBe(2);
    expect(before.stderr()).toMatch(/options of `cluster` before `init` \(dir\): put them after it/);
    const noDir = capture();
    expect(await main(['cluster', 'init', '--hosts', 'a'], noDir)).toBe(2);
    expect(noDir.stderr()).toMatch(/required option '-d, --dir <dir>' not specified/);
  });
});

describe('operator commands against files and replicas that are not what they should be', () => {
  test('a local cluster\'s key files are written afresh, 0600, never through a link or into an older file\'s mode', () => {
    const dir = tmp();
    const elsewhere = join(tmp(), 'elsewhere.json');
    writeFileSync(join(dir, 'node-0.json'), 'old', { mode: 0o644 });
    chmodSync(join(dir, 'node-0.json'), 0o644);
    writeFileSync(elsewhere, 'not a key', { mode: 0o666 });
    symlinkSync(elsewhere, join(dir, 'node-1.json'));
    writeClusterFiles(dir, { nodes: 2, protocol: 'hotstuff', host: '127.0.0.1', basePort: 20_000, deltaMs: 50, clients: 1 });
    for (const f of ['node-0.json', 'node-1.json', 'cluster.json']) {
      expect(lstatSync(join(dir, f)).isSymbolicLink()).toBe(false);
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(elsewhere, 'utf8')).toBe('not a key');
  });

  test('a damaged cluster.json is named, with exit 2', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cluster.json'), '{"replicas": ');
    const io = capture();
    expect(await main(['status', '--dir', dir], io)).toBe(2);
    expect(io.stderr()).toMatch(/cluster\.json: .*JSON/);
    writeFileSync(join(dir, 'cluster.json'), '{}');
    const empty = capture();
    expect(await main(['status', '--dir', dir], empty)).toBe(2);
    expect(empty.stderr()).toMatch(/cluster\.json: not a cluster's file/);
  });

  test('a replica that answers status in the wrong shape is named; evidence it cannot prove is marked so', async () => {
    const dir = tmp();
    const files = writeClusterFiles(dir, { nodes: 2, protocol: 'hotstuff', host: '127.0.0.1', basePort: 20_000, deltaMs: 50, clients: 1 });
    const signer = createSignatureScheme().signer(new Uint8Array(32).fill(77)); // not a validator's key
    const forged = (block: number) => ({ domain: Domains.vote, view: 3, sequence: 0, blockHash: toHex(new Uint8Array(32).fill(block)), signer: 1, signature: toHex(signer.sign(Domains.vote, new Uint8Array(8))) });
    const answers: Record<string, unknown> = {
      '/v1/status': { protocol: 'hotstuff', height: 5 },
      '/v1/evidence': { evidence: [{ offender: 0, kind: 'equivocation', statements: [] }, { offender: 1, kind: 'equivocation', statements: [forged(1), forged(2)] }] },
    };
    const liar = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answers[req.url ?? ''] ?? null));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (liar.address() as AddressInfo).port;
      writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ ...files, replicas: files.replicas.map((r) => ({ ...r, api: { host: '127.0.0.1', port } })) }));
      const status = capture();
      expect(await main(['status', '--dir', dir, '--replica', '0'], status)).toBe(1);
      expect(status.stdout()).toMatch(/^replica 0 {2}http:\/\/127.0.0.1:\d+\/v1\/status {2}not answering: an answer of the wrong shape/);
      const evidence = capture();
      expect(await main(['evidence', '--dir', dir, '--replica', '1'], evidence)).toBe(0);
      expect(evidence.stdout()).toMatch(/validator 0: equivocation \(NOT VERIFIED: no statements\); validator 1: equivocation \(NOT VERIFIED: the statements do not prove it\)/);
    } finally {
      liar.close();
    }
    // A replica that answers, but not OK: what it said, not "not answering".
    const busy = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('starting up');
    });
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const config = JSON.parse(readFileSync(files.replicas[0]!.config, 'utf8')) as Record<string, unknown>;
      const path = join(dir, 'busy.json');
      writeFileSync(path, JSON.stringify({ ...config, api: { host: '127.0.0.1', port: (busy.address() as AddressInfo).port } }));
      const health = capture();
      expect(await main(['health', '--config', path], health)).toBe(1);
      expect(health.stdout()).toBe('answered HTTP 503: starting up\n');
    } finally {
      busy.close();
    }
    // --dir naming a file.
    const notDir = capture();
    expect(await main(['status', '--dir', join(dir, 'cluster.json')], notDir)).toBe(2);
    expect(notDir.stderr()).toMatch(/--dir .*cluster\.json: not a folder/);
  });
});

test('what `cluster` shows while a replica starts: its replay, then its recovery, from its log lines', () => {
  expect(startupLine('{"event":"peer-connected"}\n')).toBeUndefined();
  const replaying = '{"level":30,"event":"replaying","storedHeight":5200,"snapshotHeight":5000,"blocks":200}';
  expect(startupLine(`${replaying}\n{"event":"recov`)).toBe('replaying 200 blocks above the snapshot at 5000');
  expect(startupLine(`${replaying}\n{"level":30,"event":"recovered","storedHeight":5200,"snapshotHeight":5000,"replayedInputs":3,"replayMs":40}\n`)).toBe('recovered to height 5200, 3 logged inputs offered again');
});

test('cluster --operator --fees: deposits and withdrawals signed by the operator key, fees charged, cancel, progress while waiting, health', async () => {
  const dir = tmp();
  const program = resolve(__dirname, '../dist/main.js');
  const base = await freeBase(rng(process.pid + 7));
  const cluster = spawn(process.execPath, [program, 'cluster', '--dir', dir, '--protocol', 'hotstuff', '--base-port', String(base), '--delta', '50', '--clients', '4', '--operator', '--fees', '1,5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cluster.stdout!.on('data', (d) => (out += String(d)));
  try {
    await until(() => `the cluster to start (${out})`, async () => /Ctrl-C/.test(out), 30_000);
    const files = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFiles;
    expect(files.operator).toMatch(/^[0-9a-f]{64}$/);
    // A new account: the operator's deposit opens it; a withdrawal beyond it is rejected (exit 1).
    const key = toHex(createSignatureScheme().publicKey(new Uint8Array(32).fill(9)));
    const deposit = capture();
    expect(await main(['deposit', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', '10000'], deposit)).toBe(0);
    const deposited = JSON.parse(deposit.stdout()) as { nonce: number };
    expect(deposited).toMatchObject({ account: key, receipt: { status: 'executed' } });
    expect(deposit.stderr()).toMatch(new RegExp(`^operator nonce ${deposited.nonce} \\(if this times out, retry with --nonce ${deposited.nonce}`, 'm'));
    expect(deposit.stderr()).toMatch(/^submitted [0-9a-f]{12} to 4 replicas; waiting until it is final$/m);
    // A retry with the nonce it printed is refused once the first is final: never credited twice
    // (by every replica's mempool, or, by a replica that had not applied the first one yet, at
    // execution); the balance below (9,600 after a 400 withdrawal) shows it.
    const retry = capture();
    expect(await main(['deposit', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', '10000', '--nonce', String(deposited.nonce)], retry)).toBe(1);
    if (retry.stdout() === '') expect(retry.stderr()).toMatch(/error: REFUSED: no replica took transaction [0-9a-f]{12}: .*STALE_NONCE.*operator nonce \d+ is not above/);
    else expect(JSON.parse(retry.stdout())).toMatchObject({ receipt: { status: 'rejected', reason: 'STALE_NONCE' } });
    const withdraw = capture();
    expect(await main(['withdraw', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', '10001'], withdraw)).toBe(1);
    expect(JSON.parse(withdraw.stdout())).toMatchObject({ receipt: { status: 'rejected', reason: 'INSUFFICIENT_FUNDS' } });
    expect(await main(['withdraw', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', '400'], capture())).toBe(0);
    // A nonce above the next one would be a new transfer, not a retry (the exchange takes any nonce
    // above the last): refused before anything is signed (an outside review found it credited twice).
    const ahead = capture();
    expect(await main(['deposit', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', '10000', '--nonce', String(deposited.nonce + 50)], ahead)).toBe(2);
    expect(ahead.stderr()).toMatch(new RegExp(`error: nonce ${deposited.nonce + 50}: the next operator nonce is \\d+ \\(proven at height \\d+\\); a retry reuses the nonce printed`));
    // `load` whose first replica streams what is not JSON: counted and skipped, and the run fails
    // (nothing it streamed is proven) with exit 1, not a crash (an outside review's SyntaxError).
    const garbage = createServer((req, res) => {
      res.writeHead(req.url === '/v1/status' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const streams = new WebSocketServer({ server: garbage, path: '/v1/stream' });
    streams.on('connection', (ws) => {
      const t = setInterval(() => ws.send('not json {'), 50);
      ws.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', () => r()));
    try {
      const liarDir = tmp();
      const liar = { ...files, replicas: [{ ...files.replicas[0]!, api: { host: '127.0.0.1', port: (garbage.address() as AddressInfo).port } }, ...files.replicas] };
      writeFileSync(join(liarDir, 'cluster.json'), JSON.stringify(liar));
      const load = capture();
      expect(await main(['load', '--dir', liarDir, '--rate', '20', '--duration', '1'], load)).toBe(1);
      expect(load.stderr()).toMatch(/the stream sent \d+ messages that were not JSON \(skipped\)/);
    } finally {
      streams.close();
      garbage.close();
    }
    const huge = capture();
    expect(await main(['deposit', '--dir', dir, '--key', key, '--asset', 'USD', '--amount', String(1n << 96n)], huge)).toBe(2);
    expect(huge.stderr()).toMatch(/at most 2\^96 - 1/);
    // A new client takes any proven height: a replica a block behind may answer first, so ask until it shows.
    const eventually = async (args: string[], shows: RegExp) => {
      let text = '';
      await until(() => `${args.join(' ')} to show ${shows} (last: ${text})`, async () => {
        const io = capture();
        expect(await main(args, io)).toBe(0);
        text = io.stdout();
        return shows.test(text);
      }, 15_000);
    };
    await eventually(['account', '--dir', dir, '--key', key], /USD: 9600 available, 0 reserved/);
    // Fees: 1 bp to the resting ask (maker), 5 bp to the taker, of the notional 5,000 x 2.
    expect(await main(['order', '--dir', dir, '--client', '1', '--side', 'sell', '--price', '5000', '--size', '2'], capture())).toBe(0);
    const bid = capture();
    expect(await main(['order', '--dir', dir, '--client', '2', '--side', 'buy', '--price', '5000', '--size', '2', '--tif', 'IOC'], bid)).toBe(0);
    expect(JSON.parse(bid.stdout()).receipt.trades).toEqual([expect.objectContaining({ price: 5000, size: 2, sellerFee: '1', buyerFee: '5' })]);
    // An order rests, its id is the nonce `order` printed; cancel takes it off the book.
    const rest = capture();
    expect(await main(['order', '--dir', dir, '--client', '3', '--side', 'buy', '--price', '10', '--size', '1'], rest)).toBe(0);
    const id = (JSON.parse(rest.stdout()) as { nonce: number }).nonce;
    const cancel = capture();
    expect(await main(['cancel', '--dir', dir, '--client', '3', '--order', String(id)], cancel)).toBe(0);
    expect(JSON.parse(cancel.stdout()).receipt.status).toBe('executed');
    await eventually(['account', '--dir', dir, '--client', '3'], /no open orders/);
    const again = capture();
    expect(await main(['cancel', '--dir', dir, '--client', '3', '--order', String(id)], again)).toBe(1);
    // One replica only (--replica): its own word, and answers proven from it alone.
    const one = capture();
    expect(await main(['status', '--dir', dir, '--replica', '2'], one)).toBe(0);
    expect(one.stdout()).toMatch(/^replica 2 {2}hotstuff {2}height \d+/);
    expect(one.stdout().trim().split('\n')).toHaveLength(1);
    const fromOne = capture();
    expect(await main(['account', '--dir', dir, '--key', key, '--replica', '3', '--json'], fromOne)).toBe(0);
    expect(JSON.parse(fromOne.stdout()).certified.attesters.length).toBeGreaterThanOrEqual(2);
    expect(await main(['book', '--dir', dir, '--replica', '1'], capture())).toBe(0);
    const nine = capture();
    expect(await main(['evidence', '--dir', dir, '--replica', '9'], nine)).toBe(2);
    expect(nine.stderr()).toMatch(/--replica 9: the cluster has 4 replicas \(0 to 3\)/);
    // The health check the container image runs.
    const healthy = capture();
    expect(await main(['health', '--config', join(dir, 'node-2.json')], healthy)).toBe(0);
    expect(healthy.stdout()).toMatch(/^ok: height \d+, peers 0,1,3\n$/);
    // The cluster keeps the fees and operator it was written with.
    const reuse = capture();
    expect(await main(['cluster', '--dir', dir, '--reuse', '--fees', '0,0'], reuse)).toBe(2);
    expect(reuse.stderr()).toMatch(/--fees: the cluster in .* keeps the fees it was written with; pass --fresh/);
  } finally {
    cluster.kill('SIGINT');
    await exited(cluster);
  }
  const down = capture();
  expect(await main(['health', '--config', join(dir, 'node-2.json'), '--timeout', '1'], down)).toBe(1);
  expect(down.stdout()).toMatch(/not answering on 127\.0\.0\.1:\d+: ECONNREFUSED/);
  // 1 for a bad config too (a container health check reserves 2).
  expect(await main(['health', '--config', join(dir, 'nothere.json')], capture())).toBe(1);
  // Without an operator key there is nothing to sign a deposit with.
  const plain = tmp();
  writeClusterFiles(plain, { nodes: 1, protocol: 'hotstuff', host: '127.0.0.1', basePort: base, deltaMs: 50, clients: 1 });
  const refused = capture();
  expect(await main(['deposit', '--dir', plain, '--client', '0', '--asset', 'USD', '--amount', '1'], refused)).toBe(2);
  expect(refused.stderr()).toMatch(/no operator key .* start a cluster with --operator/);
}, 90_000);
