// The container image and the Kubernetes manifests, proven with podman (issue 21): the image is
// built from apps/replica/container/Containerfile, `cluster init` writes four validators'
// manifests, `podman kube play` runs their pods (Secret, ConfigMap, PersistentVolumeClaim, and the
// StatefulSet's pod template as a Deployment, which is what podman plays),
// orders are placed and final, one pod is killed and recreated from its manifest, it recovers from
// its volume and catches up, and every replica holds the same state root. Then the compose file,
// with podman-compose: four services on a compose network, orders final, equal state roots.
// Needs root, podman, runc and podman-compose (.ci/run installs them). No registry is reachable here, so the base
// image is made from this machine's Node (BFTX_IMAGE_BASE names another one); users build on the
// Containerfile's default, the public Node 20 image.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ClusterFiles } from '@bftx/node';
import { parseAllDocuments } from 'yaml';
import { main, type Io } from '../src/cli';
import { allConnected, block, freeBase, rng, status, until } from './processes';

const APP = resolve(__dirname, '..');
const N = 4;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const capable = process.getuid?.() === 0 && has('podman') && has('runc') && has('podman-compose');
if (!capable && process.env['CI'] === 'true') throw new Error('the container test needs root, podman, runc and podman-compose; .ci/run installs them');
const maybe = capable ? describe : describe.skip;
if (!capable) console.warn('skipping the container test: it needs root, podman, runc and podman-compose (apt-get install -y podman runc podman-compose)');

const tag = `bftxc${process.pid % 100_000}`;
const work = mkdtempSync(join(tmpdir(), 'bftx-container-'));
// This machine kind: crun cannot set RLIMIT_NOFILE (TOOLING.md), so runc, and no default ulimits.
const containersConf = join(work, 'containers.conf');
writeFileSync(containersConf, '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n');
const env = { ...process.env, CONTAINERS_CONF: containersConf };
const podman = (...args: string[]) => execFileSync('podman', args, { env, stdio: 'pipe', timeout: 180_000 }).toString();
const image = `localhost/${tag}-replica:test`;

function quiet(): Io & { text: () => string } {
  let text = '';
  return { out: (s) => void (text += s), err: (s) => void (text += s), text: () => text };
}

/** A base image holding only this machine's Node and the libraries it links (no registry needed). */
function localBase(): string {
  const name = `localhost/${tag}-node-base`;
  const rootfs = join(work, 'rootfs');
  const libs = execFileSync('ldd', [process.execPath]).toString().match(/\/[^\s]+/g) ?? [];
  for (const file of [process.execPath, ...libs]) {
    const to = join(rootfs, file === process.execPath ? '/usr/bin/node' : file);
    mkdirSync(dirname(to), { recursive: true });
    execFileSync('cp', ['-L', file, to]);
  }
  mkdirSync(join(rootfs, 'tmp'), { mode: 0o1777 });
  execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'base.tar'), '.']);
  podman('import', '-q', join(work, 'base.tar'), name);
  return name;
}

maybe('the replica image and the Kubernetes manifests, on podman', () => {
  let files: ClusterFiles;
  const dir = join(work, 'cluster');
  const pod = (i: number) => `${tag}-${i}-pod-0`;

  const composeDir = join(work, 'compose');
  const composeProject = `${tag}compose`;
  const compose = (...args: string[]) => execFileSync('podman-compose', ['-p', composeProject, '-f', join(composeDir, 'compose.yaml'), ...args], { cwd: composeDir, env, stdio: 'pipe', timeout: 180_000 }).toString();

  afterAll(() => {
    spawnSync('podman-compose', ['-p', composeProject, '-f', join(composeDir, 'compose.yaml'), 'down', '-v'], { cwd: composeDir, env, stdio: 'ignore' });
    spawnSync('podman', ['network', 'rm', '-f', `${composeProject}_default`], { env, stdio: 'ignore' });
    for (let i = 0; i < N; i++) spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', pod(i)], { env, stdio: 'ignore' });
    for (let i = 0; i < N; i++) spawnSync('podman', ['volume', 'rm', '-f', `data-${tag}-${i}-0`, `${tag}-${i}-config`, `${tag}-${i}-key`], { env, stdio: 'ignore' });
    for (let i = 0; i < N; i++) spawnSync('podman', ['secret', 'rm', `${tag}-${i}-key`], { env, stdio: 'ignore' });
    spawnSync('podman', ['rmi', '-f', image, `localhost/${tag}-node-base`], { env, stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  test('the image builds from the Containerfile: the bundled app, a non-root user, a health check', () => {
    execFileSync(process.execPath, [join(APP, 'container/build-context.mjs')], { stdio: 'pipe' });
    const base = process.env['BFTX_IMAGE_BASE'] ?? localBase();
    // docker format: OCI images carry no HEALTHCHECK.
    podman('build', '-q', '--format', 'docker', '--build-arg', `BASE=${base}`, '-t', image, join(APP, 'dist/image'));
    const config = JSON.parse(podman('image', 'inspect', '--format', '{{json .Config}}', image)) as { User: string; Entrypoint: string[]; Cmd: string[]; Volumes: Record<string, unknown> };
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['node', '/app/main.mjs']);
    expect(config.Cmd).toEqual(['start', '--config', '/etc/bftx/config/node.json', '--data-dir', '/data/store']);
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    const health = JSON.parse(podman('image', 'inspect', '--format', '{{json .HealthCheck}}', image)) as { Test: string[] } | null;
    expect(health?.Test).toEqual(['CMD', 'node', '/app/main.mjs', 'health', '--config', '/etc/bftx/config/node.json']);
    expect(podman('run', '--rm', '--network', 'none', image, '--help')).toMatch(/Usage: bftx-replica/);
  }, 180_000);

  test('four validators from `cluster init` manifests: orders final, a pod killed and recreated catches up, equal state roots', async () => {
    const basePort = await freeBase(rng(process.pid));
    const hosts = Array.from({ length: N }, () => '127.0.0.1').join(',');
    const init = quiet();
    expect(await main(['cluster', 'init', '--hosts', hosts, '--dir', dir, '-p', 'pbft', '--base-port', String(basePort), '--delta', '100', '--clients', '4', '--bind', '127.0.0.1', '--host-network', '--image', image, '--name', tag], init)).toBe(0);
    files = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFiles;
    // podman/ holds the pods of kubernetes/ as Deployments (podman has no StatefulSet): the same pod template.
    const template = (folder: string, i: number, kind: string) => (parseAllDocuments(readFileSync(join(dir, folder, `${tag}-${i}.yaml`), 'utf8')).map((d) => d.toJS() as any).find((d) => d.kind === kind).spec.template);
    for (let i = 0; i < N; i++) {
      const [k8s, pod] = [template('kubernetes', i, 'StatefulSet'), template('podman', i, 'Deployment')];
      expect(pod).toEqual({ ...k8s, spec: { ...k8s.spec, volumes: [...k8s.spec.volumes, { name: 'data', persistentVolumeClaim: { claimName: `data-${tag}-${i}-0` } }] } });
    }
    const play = (file: string) => podman('kube', 'play', join(dir, 'podman', file));
    for (let i = 0; i < N; i++) {
      play(`${tag}-${i}-storage.yaml`);
      play(`${tag}-${i}.yaml`);
    }
    await allConnected(files);
    // The pod runs as the image's user, with the key from the Secret and the store on the claim.
    expect(podman('exec', `${pod(0)}-replica`, 'node', '-e', 'console.log(process.getuid(), require("fs").existsSync("/data/store/CURRENT"))').trim()).toBe('1000 true');
    // It runs with the manifest's restrictions applied: a read-only root file system, no new privileges.
    expect(podman('inspect', '--format', '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.SecurityOpt}}', `${pod(0)}-replica`).trim()).toMatch(/^true \[.*no-new-privileges.*\]$/);
    // The image's health check, run in a pod: the replica answers on the API its config names.
    expect(podman('exec', `${pod(1)}-replica`, 'node', '/app/main.mjs', 'health', '--config', '/etc/bftx/config/node.json')).toMatch(/^ok: height \d+, peers 0,2,3\n$/);

    const load = async () => {
      const io = quiet();
      expect(await main(['load', '--dir', dir, '--rate', '50', '--duration', '2', '--json'], io)).toBe(0);
      const report = JSON.parse(io.text().split('\n').filter((l) => l.startsWith('{')).pop()!) as { submitted: number; finalized: number };
      expect(report.submitted).toBeGreaterThanOrEqual(50);
      expect(report.finalized).toBe(report.submitted);
    };
    await load();

    // Replica 2's pod killed and gone: the other three go on.
    podman('pod', 'rm', '-f', '-t', '0', pod(2));
    const before = (await status(files, 0))!.height;
    await load();
    // Recreated from the same manifest (its volume outlives it): it recovers from disk and catches up.
    play(`${tag}-2.yaml`);
    const logs = () => podman('logs', `${pod(2)}-replica`);
    await until(() => 'replica 2 to answer again', async () => (await status(files, 2)) !== undefined, 60_000);
    expect(logs()).toMatch(/"event":"recovered","storedHeight":[1-9]/);
    const target = (await status(files, 0))!.height;
    expect(target).toBeGreaterThan(before);
    await until(() => `replica 2 to reach height ${target}`, async () => ((await status(files, 2))?.height ?? 0) >= target, 60_000);
    const roots = await Promise.all(files.replicas.map(async (_, i) => (await block(files, i, target))?.stateRoot));
    expect(roots[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(roots).size).toBe(1);
  }, 240_000);

  // podman-compose 1.0.3 (Debian 12) cannot run `network_mode: host` services (it adds its own
  // network too: containers/podman-compose#397), so this runs the compose file as `cluster init`
  // writes it by default: a compose network where peers find each other by service name, and the
  // ports published on this machine.
  test('the compose file: four services on a compose network, orders final, equal state roots', async () => {
    const basePort = await freeBase(rng(process.pid + 1));
    const hosts = Array.from({ length: N }, (_, i) => `${tag}c-${i}`).join(',');
    expect(await main(['cluster', 'init', '--hosts', hosts, '--dir', composeDir, '-p', 'hotstuff', '--base-port', String(basePort), '--delta', '100', '--clients', '4', '--image', image, '--name', `${tag}c`], quiet())).toBe(0);
    // As the README says for rootful docker or podman: the key folders (0700, this user's) to the image's uid.
    execFileSync('chown', ['-R', '1000', ...Array.from({ length: N }, (_, i) => join(composeDir, 'hosts', `replica-${i}`, 'key'))]);
    compose('up', '-d');
    // The clients reach the published API ports here (the addresses in cluster.json are the service names).
    const written = JSON.parse(readFileSync(join(composeDir, 'cluster.json'), 'utf8')) as ClusterFiles;
    const local = { ...written, replicas: written.replicas.map((r) => ({ ...r, api: { ...r.api, host: '127.0.0.1' } })) };
    writeFileSync(join(composeDir, 'cluster.json'), JSON.stringify(local), { mode: 0o600 });
    await allConnected(local);
    const io = quiet();
    expect(await main(['load', '--dir', composeDir, '--rate', '50', '--duration', '2', '--json'], io)).toBe(0);
    const report = JSON.parse(io.text().split('\n').filter((l) => l.startsWith('{')).pop()!) as { submitted: number; finalized: number };
    expect(report.submitted).toBeGreaterThanOrEqual(50);
    expect(report.finalized).toBe(report.submitted);
    const target = (await status(local, 0))!.height;
    await until(() => `every replica at height ${target}`, async () => (await Promise.all(local.replicas.map((_, i) => status(local, i)))).every((s) => (s?.height ?? 0) >= target), 60_000);
    const roots = await Promise.all(local.replicas.map(async (_, i) => (await block(local, i, target))?.stateRoot));
    expect(roots[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(roots).size).toBe(1);
    // Each service runs the image's command as uid 1000, its store on its named volume.
    // (podman-compose 1.0.3 prints its own lines too: "exit code: 0".)
    const inside = compose('exec', '-T', `${tag}c-0`, 'node', '-e', 'console.log("inside", process.getuid(), require("fs").existsSync("/data/store/CURRENT"))');
    expect(inside.split('\n').find((l) => l.startsWith('inside '))).toBe('inside 1000 true');
  }, 240_000);
});
