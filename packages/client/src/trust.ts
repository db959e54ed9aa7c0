// What a client trusts: the validator keys and the protocol they run. Nothing a replica says.
import { createSignatureScheme, fromHex, hashParts, utf8, type SignatureScheme } from '@bftx/crypto';
import { ValidatorSet, type ProtocolDefinition } from '@bftx/consensus';
import { attestationThreshold } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { ClientError } from './errors';

export type ProtocolName = 'hotstuff' | 'pbft' | 'streamlet';

export interface TrustOptions {
  /** The cluster's consensus protocol: its name, or a definition (one with `verifyCommit`). */
  readonly protocol: ProtocolName | ProtocolDefinition<any>;
  /** The validators' public keys (32 bytes, or 64 hex digits), in validator order. */
  readonly validators: readonly (string | Uint8Array)[];
  /** How the cluster orders transactions: part of its id (default 'leader'). */
  readonly ordering?: 'leader' | 'fair';
  /**
   * How many execution attestations prove a state root: 'f+1' (at least one honest validator
   * executed to it; the default) or '2f+1' (a quorum).
   */
  readonly attestations?: 'f+1' | '2f+1';
  /** The exchange's asset names in configuration order, to name balances (else by index only). */
  readonly assets?: readonly string[];
  /** Signature scheme (default: the fastest available, noble in browsers). */
  readonly scheme?: SignatureScheme;
}

/** Options checked and resolved once. */
export interface Trust {
  readonly protocol: ProtocolDefinition<any>;
  readonly validators: ValidatorSet;
  readonly scheme: SignatureScheme;
  readonly threshold: number;
  /** The id every order for this cluster carries (as the replicas compute it). */
  readonly cluster: Uint8Array;
  readonly assets?: readonly string[];
}

const PROTOCOLS: Record<ProtocolName, () => ProtocolDefinition<any>> = { hotstuff: () => hotstuff(), pbft: () => pbft(), streamlet: () => streamlet() };

/**
 * The id replicas give their cluster (and refuse orders without): its protocol's name (with
 * `+fair` under fair ordering) and its validator keys, hashed.
 */
export function clusterIdOf(protocolName: string, validatorKeys: readonly Uint8Array[], ordering: 'leader' | 'fair' = 'leader'): Uint8Array {
  return hashParts('bftx.cluster', [utf8(ordering === 'fair' ? `${protocolName}+fair` : protocolName), ...validatorKeys]);
}

export function resolveTrust(o: TrustOptions): Trust {
  const protocol = typeof o.protocol === 'string' ? PROTOCOLS[o.protocol]?.() : o.protocol;
  if (protocol === undefined) throw new ClientError('BAD_OPTIONS', `unknown protocol ${JSON.stringify(o.protocol)} (expected ${Object.keys(PROTOCOLS).join(', ')})`);
  if (protocol.verifyCommit === undefined) throw new ClientError('BAD_OPTIONS', `protocol ${protocol.name} cannot check commit certificates (no verifyCommit)`);
  if (!Array.isArray(o.validators) || o.validators.length === 0) throw new ClientError('BAD_OPTIONS', 'validators: give the public keys of every validator, in order');
  const keys = o.validators.map((k, i) => {
    const bytes = typeof k === 'string' && /^[0-9a-fA-F]{64}$/.test(k) ? fromHex(k) : k instanceof Uint8Array && k.length === 32 ? k : undefined;
    if (bytes === undefined) throw new ClientError('BAD_OPTIONS', `validator ${i}: a public key is 32 bytes or 64 hex digits`);
    return bytes;
  });
  const validators = new ValidatorSet(keys);
  const mode = o.attestations ?? 'f+1';
  if (mode !== 'f+1' && mode !== '2f+1') throw new ClientError('BAD_OPTIONS', `attestations: 'f+1' or '2f+1', not ${JSON.stringify(mode)}`);
  return {
    protocol,
    validators,
    scheme: o.scheme ?? createSignatureScheme(),
    threshold: attestationThreshold(validators, mode),
    cluster: clusterIdOf(protocol.name, keys, o.ordering ?? 'leader'),
    ...(o.assets === undefined ? {} : { assets: o.assets }),
  };
}
