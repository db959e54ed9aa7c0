// `bftx-replica cluster init --hosts a,b,c,d`: everything a cluster of one replica per host needs,
// written once on the operator's machine: each host's config and validator key (copy
// hosts/replica-<i>/ to host i), Kubernetes manifests and a compose file that run the container
// image with them, and cluster.json for the operator's own commands (status, load, deposit...).
//
// One layout serves every way of running a replica: config/node.json names its key as
// ../key/validator.key and its data as ../data, so on a host `bftx-replica start --config
// config/node.json` runs from the copied folder, and in a container the config is mounted at
// /etc/bftx/config, the key at /etc/bftx/key (a Secret) and the data at /data (--data-dir).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { createSignatureScheme, toHex } from '@bftx/crypto';
import { clusterExchange, ConfigError, newSecretKey, type ClusterFiles, type Ordering, type ReplicaConfigFile } from '@bftx/node';
import { stringify } from 'yaml';

export interface DeployOptions {
  /** The address replica i is reached at, by its peers and by clients: one per replica. */
  readonly hosts: readonly string[];
  readonly protocol: string;
  /** Replica i listens for peers on basePort + i and serves its API on basePort + 100 + i. */
  readonly basePort: number;
  readonly deltaMs: number;
  readonly clients: number;
  readonly ordering: Ordering;
  readonly matching: 'continuous' | 'batch';
  readonly fees?: { readonly makerBps: number; readonly takerBps: number };
  readonly operator: boolean;
  /** The address replicas listen on (0.0.0.0: every interface). */
  readonly bind: string;
  /** The container image the manifests run. */
  readonly image: string;
  /** Pods use the node's network (hosts are the nodes' addresses) instead of a pod network with a Service per replica. */
  readonly hostNetwork: boolean;
  /** Names of the Kubernetes objects and compose services: <name>-<i>. */
  readonly name: string;
  /** The Kubernetes node replica i runs on (kubernetes.io/hostname): with hostNetwork, where its address is. */
  readonly nodeNames?: readonly string[];
}

/** Inside the image: where the manifests mount each part (see Containerfile). */
// The store is a folder inside the volume: a fresh ext4 volume holds lost+found, which a store refuses.
export const CONTAINER = { config: '/etc/bftx/config', key: '/etc/bftx/key', volume: '/data', data: '/data/store', uid: 1000 } as const;
const KEY_FILE = 'validator.key';

/** The key pair file `keys gen` writes. */
export function keyPairJson(secret: Uint8Array): string {
  return JSON.stringify({ publicKey: toHex(createSignatureScheme().publicKey(secret)), secretKey: toHex(secret) }, null, 2) + '\n';
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/;
/** Funded clients a cluster of hosts may have (see writeDeployment). */
export const MAX_DEPLOY_CLIENTS = 1_000;

/** Writes the cluster into `dir` (which must not hold one); returns what cluster.json holds. */
export function writeDeployment(dir: string, o: DeployOptions): ClusterFiles {
  const n = o.hosts.length;
  if (n < 1 || n > 64) throw new ConfigError(`--hosts: expected 1 to 64 addresses, got ${n}`);
  o.hosts.forEach((h, i) => {
    // Names and IPv4 addresses: a URL needs an IPv6 literal in brackets, and the ports come from --base-port.
    if (h.length > 253 || !/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(h)) throw new ConfigError(`--hosts: host ${i} (${JSON.stringify(h)}) is not a host name or IPv4 address (no port: --base-port sets them; IPv6 literals are not supported, use a name)`);
  });
  if (!DNS_LABEL.test(o.name)) throw new ConfigError(`--name ${o.name}: expected a DNS label (lowercase letters, digits, '-'; at most 42 characters), as Kubernetes names need`);
  if (isIP(o.bind) === 0) throw new ConfigError(`--bind ${JSON.stringify(o.bind)}: expected an IP address to listen on (0.0.0.0 for every interface)`);
  if (!/^[^\s]{1,255}$/.test(o.image)) throw new ConfigError(`--image ${JSON.stringify(o.image)}: expected an image reference (no spaces, at most 255 characters)`);
  // Each funded client is in every replica's config, which is a ConfigMap: Kubernetes stores at most
  // 1 MiB of one, and kubectl's client-side apply keeps a copy in a 256 KiB annotation.
  if (o.clients > MAX_DEPLOY_CLIENTS) throw new ConfigError(`--clients ${o.clients}: at most ${MAX_DEPLOY_CLIENTS} for a cluster of hosts (each is in every replica's config, a Kubernetes ConfigMap)`);
  if (o.nodeNames !== undefined) {
    if (!o.hostNetwork) throw new ConfigError('--node-names pins replicas to nodes for --host-network (where each address is a node); without it, pods move freely and --hosts are Service names');
    if (o.nodeNames.length !== n) throw new ConfigError(`--node-names: expected ${n} names, one per host, got ${o.nodeNames.length}`);
    o.nodeNames.forEach((v, i) => {
      if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v)) throw new ConfigError(`--node-names: name ${i} (${JSON.stringify(v)}) is not a Kubernetes label value (letters, digits, '-', '_', '.'; at most 63)`);
    });
  }
  const root = resolve(dir);
  // Every key is written here, once: never over an earlier cluster's files (its keys would be lost).
  if (existsSync(root) && readdirSync(root).length > 0) throw new ConfigError(`${root} is not empty${existsSync(join(root, 'cluster.json')) ? ' (it holds a cluster: cluster.json)' : ''}: pick a new or empty --dir`);
  const scheme = createSignatureScheme();
  const secrets = o.hosts.map(() => newSecretKey());
  const clientSecrets = Array.from({ length: o.clients }, newSecretKey);
  const operatorSecret = o.operator ? newSecretKey() : undefined;
  const validators = secrets.map((s, i) => ({ publicKey: toHex(scheme.publicKey(s)), host: o.hosts[i]!, port: o.basePort + i }));
  const exchange = clusterExchange(o, clientSecrets, operatorSecret);
  const peerPort = (i: number) => o.basePort + i;
  const apiPort = (i: number) => o.basePort + 100 + i;
  const configOf = (self: number): ReplicaConfigFile => ({
    protocol: o.protocol,
    self,
    secretKeyFile: `../key/${KEY_FILE}`,
    validators,
    deltaMs: o.deltaMs,
    dataDir: '../data',
    api: { host: o.bind, port: apiPort(self) },
    listen: { host: o.bind, port: peerPort(self) },
    ...(o.ordering === 'fair' ? { ordering: 'fair' as const } : {}),
    exchange,
  });
  const name = (i: number) => `${o.name}-${i}`;
  const replicas = secrets.map((secret, i) => {
    const host = join(root, 'hosts', `replica-${i}`);
    mkdirSync(join(host, 'config'), { recursive: true });
    mkdirSync(join(host, 'key'), { recursive: true, mode: 0o700 });
    writeFileSync(join(host, 'config', 'node.json'), JSON.stringify(configOf(i), null, 2) + '\n', { flag: 'wx' });
    writeSecret(join(host, 'key', KEY_FILE), keyPairJson(secret));
    return { config: join(host, 'config', 'node.json'), peer: { host: o.hosts[i]!, port: peerPort(i) }, api: { host: o.hosts[i]!, port: apiPort(i) } };
  });

  for (const [folder, write] of [
    ['kubernetes', kubernetesReplica],
    ['podman', podmanReplica],
  ] as const) {
    // Both hold every validator's key (in its Secret): readable by the operator alone.
    mkdirSync(join(root, folder), { mode: 0o700 });
    secrets.forEach((secret, i) => write(join(root, folder), o, { name: name(i), i, config: configOf(i), keyPair: keyPairJson(secret), peerPort: peerPort(i), apiPort: apiPort(i) }));
  }
  writeFileSync(join(root, 'compose.yaml'), compose(o, name, peerPort, apiPort), { flag: 'wx' });

  const files: ClusterFiles = {
    protocol: o.protocol,
    ...(o.ordering === 'fair' ? { ordering: 'fair' as const } : {}),
    replicas,
    clients: clientSecrets.map(toHex),
    validators: validators.map((v) => v.publicKey),
    ...(operatorSecret !== undefined ? { operator: toHex(operatorSecret) } : {}),
    hosts: true,
  };
  writeSecret(join(root, 'cluster.json'), JSON.stringify(files, null, 2) + '\n');
  return files;
}

/** A file only its owner reads, created here or not at all. */
const writeSecret = (file: string, text: string) => writeFileSync(file, text, { mode: 0o600, flag: 'wx' });

const labels = (name: string) => ({ 'app.kubernetes.io/name': 'bftx-replica', 'app.kubernetes.io/instance': name });
const yaml = (docs: readonly unknown[]) => docs.map((d) => stringify(d, { blockQuote: 'literal' })).join('---\n');

interface Validator {
  readonly name: string;
  readonly i: number;
  readonly config: ReplicaConfigFile;
  readonly keyPair: string;
  readonly peerPort: number;
  readonly apiPort: number;
}

/** Its key (a Secret) and config (a ConfigMap). */
function secretAndConfig(v: Validator): unknown[] {
  return [
    // `data`, base64: podman 4.3's kube play mishandles `stringData` (the config reads it back, see secretKeyFile).
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${v.name}-key`, labels: labels(v.name) }, type: 'Opaque', data: { [KEY_FILE]: Buffer.from(v.keyPair).toString('base64') } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${v.name}-config`, labels: labels(v.name) }, data: { 'node.json': JSON.stringify(v.config, null, 2) + '\n' } },
  ];
}

/** One validator's pod: the same in the Kubernetes StatefulSet and the podman Deployment. */
export function podTemplate(o: Pick<DeployOptions, 'image' | 'hostNetwork' | 'nodeNames'>, v: Validator) {
  const node = o.nodeNames?.[v.i];
  return {
    metadata: { labels: labels(v.name) },
    spec: {
      // On the node's network, peers reach the replica at its node's address: it must run there.
      ...(o.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
      ...(node !== undefined ? { nodeSelector: { 'kubernetes.io/hostname': node } } : {}),
      // Pod Security "restricted": not root, no privilege escalation, no capabilities, the default seccomp profile.
      securityContext: { runAsNonRoot: true, runAsUser: CONTAINER.uid, runAsGroup: CONTAINER.uid, fsGroup: CONTAINER.uid, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'replica',
          image: o.image,
          imagePullPolicy: 'IfNotPresent',
          args: ['start', '--config', `${CONTAINER.config}/node.json`, '--data-dir', CONTAINER.data],
          // On the node's network the ports are the node's (podman 4.3 refuses port mappings there).
          ...(o.hostNetwork
            ? {}
            : {
                ports: [
                  { name: 'peer', containerPort: v.peerPort },
                  { name: 'api', containerPort: v.apiPort },
                ],
              }),
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          readinessProbe: { httpGet: { path: '/v1/status', port: v.apiPort }, periodSeconds: 5, timeoutSeconds: 5 },
          volumeMounts: [
            { name: 'config', mountPath: CONTAINER.config, readOnly: true },
            { name: 'key', mountPath: CONTAINER.key, readOnly: true },
            { name: 'data', mountPath: CONTAINER.volume },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${v.name}-config` } },
        // `optional: false` spelt out: podman 4.3 crashes on a secret volume without it.
        { name: 'key', secret: { secretName: `${v.name}-key`, optional: false, defaultMode: 0o440 } },
        // The data volume: the StatefulSet's claim template (Kubernetes) or a claim of its own (podman).
        { name: 'data', persistentVolumeClaim: { claimName: `data-${v.name}-0` } },
      ],
    },
  };
}

const claimSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } };

/**
 * Kubernetes: a Secret, a ConfigMap, a Service for the two ports, and a StatefulSet of one pod.
 * A StatefulSet, not a Deployment: it never starts a second pod for the validator until the first
 * is known to be gone (a node that stops answering leaves its pod running, maybe), and two pods of
 * one validator would sign with one key. Its claim template names the volume data-<name>-0.
 */
function kubernetesReplica(dir: string, o: DeployOptions, v: Validator): void {
  const template = podTemplate(o, v);
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: v.name, labels: labels(v.name) },
    spec: {
      replicas: 1,
      serviceName: v.name,
      selector: { matchLabels: labels(v.name) },
      template: { ...template, spec: { ...template.spec, volumes: template.spec.volumes.filter((vol) => vol.name !== 'data') } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: labels(v.name) }, spec: claimSpec }],
    },
  };
  // Headless, and listing pods before they are ready: peers must reach a replica that is still
  // catching up (readiness is for clients), and the name resolves to the pod itself.
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: v.name, labels: labels(v.name) }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: labels(v.name), ports: [{ name: 'peer', port: v.peerPort, targetPort: v.peerPort }, { name: 'api', port: v.apiPort, targetPort: v.apiPort }] } };
  writeSecret(join(dir, `${v.name}.yaml`), `# Validator ${v.i} of ${v.config.validators.length} (its key is in the Secret: keep this file private): kubectl apply -f this file.\n` + yaml([...secretAndConfig(v), service, statefulSet]));
}

/**
 * Podman (`podman kube play`, which has no StatefulSet): the same pod as a Deployment of one, and
 * its claim in a file of its own, played once (playing a claim that exists fails; the volume
 * outlives the pod). Ports are on the host's network or published by `--publish`.
 */
function podmanReplica(dir: string, o: DeployOptions, v: Validator): void {
  const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `data-${v.name}-0`, labels: labels(v.name) }, spec: claimSpec };
  writeFileSync(join(dir, `${v.name}-storage.yaml`), `# Validator ${v.i}'s volume: podman kube play it once, before ${v.name}.yaml.\n` + yaml([claim]), { flag: 'wx' });
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: v.name, labels: labels(v.name) }, spec: { replicas: 1, strategy: { type: 'Recreate' }, selector: { matchLabels: labels(v.name) }, template: podTemplate(o, v) } };
  writeSecret(join(dir, `${v.name}.yaml`), `# Validator ${v.i} of ${v.config.validators.length} (its key is in the Secret: keep this file private): podman kube play ${v.name}-storage.yaml once, then this file (again after the pod is removed).\n` + yaml([...secretAndConfig(v), deployment]));
}

function compose(o: DeployOptions, name: (i: number) => string, peerPort: (i: number) => number, apiPort: (i: number) => number): string {
  const services: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  o.hosts.forEach((_, i) => {
    services[name(i)] = {
      image: o.image,
      command: ['start', '--config', `${CONTAINER.config}/node.json`, '--data-dir', CONTAINER.data],
      restart: 'unless-stopped',
      ...(o.hostNetwork ? { network_mode: 'host' } : { ports: [`${peerPort(i)}:${peerPort(i)}`, `${apiPort(i)}:${apiPort(i)}`] }),
      volumes: [`./hosts/replica-${i}/config:${CONTAINER.config}:ro`, `./hosts/replica-${i}/key:${CONTAINER.key}:ro`, `${name(i)}-data:${CONTAINER.volume}`],
    };
    volumes[`${name(i)}-data`] = {};
  });
  return `# All ${o.hosts.length} replicas on one machine (a trial, or a staging host): docker compose up -d (or podman-compose).\n` + stringify({ services, volumes });
}
