// One replica process: the node and its client API, logging JSON lines (pino), stopped cleanly by
// SIGINT or SIGTERM (a kill -9 is what the store and the log of inputs are for).
import type { ProtocolDefinition } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import pino, { type Logger } from 'pino';
import { ClientApi } from './api';
import type { ReplicaConfig } from './config';
import { ReplicaNode } from './replica';

export interface RunningReplica {
  readonly node: ReplicaNode<unknown>;
  readonly api: ClientApi;
  stop(): Promise<void>;
}

/** Starts a replica and its client API from a checked config; logs JSON lines to stdout unless given a logger. */
export async function startReplica(config: ReplicaConfig, protocol: ProtocolDefinition<unknown>, logger: Logger = pino({ base: { replica: config.self } })): Promise<RunningReplica> {
  const scheme = createSignatureScheme();
  const node = new ReplicaNode({
    protocol,
    self: config.self,
    validatorKeys: config.validatorKeys,
    scheme,
    clientScheme: scheme,
    secretKey: config.secretKey,
    timing: { delta: config.deltaMs },
    exchange: config.exchange,
    dataDir: config.dataDir,
    listen: config.listen,
    peers: config.peers,
    ...(config.maxBlockTxs !== undefined ? { maxBlockTxs: config.maxBlockTxs } : {}),
    auditVotes: config.auditVotes,
    damagedLog: config.damagedLog,
    ordering: config.ordering,
    attestations: config.attestations,
    ...(config.verifyWorkers !== undefined ? { verifyWorkers: config.verifyWorkers } : {}),
    log: (event, fields) => logger.info({ event, ...fields }, event),
  });
  await node.start();
  const api = new ClientApi(node, config.api);
  try {
    await api.start();
  } catch (e) {
    await node.stop();
    throw e;
  }
  logger.info({ event: 'started', protocol: config.protocol, ordering: config.ordering, peerPort: node.port, apiPort: api.port, height: node.ledger.height, recovery: node.recovery }, 'started');
  return {
    node,
    api,
    async stop() {
      await api.stop();
      await node.stop();
      logger.info({ event: 'stopped', height: node.ledger.height }, 'stopped');
    },
  };
}
