import { concatBytes, utf8 } from './bytes';
import { CryptoError } from './errors';

/**
 * A domain tag names what a signature or a hash is over ("bftx.vote",
 * "bftx.block", "bftx.order"): lowercase letters, digits, '.', '-' and '_',
 * 1 to 64 characters, starting with a letter.
 */
export type DomainTag = string;

const DOMAIN_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;

/** Throws CryptoError INVALID_DOMAIN unless `tag` is a valid domain tag. */
export function assertDomain(tag: unknown): asserts tag is DomainTag {
  if (typeof tag !== 'string' || !DOMAIN_PATTERN.test(tag)) {
    throw new CryptoError('INVALID_DOMAIN', `domain tag must match ${DOMAIN_PATTERN} (got ${JSON.stringify(tag)})`);
  }
}

/** Domain tags used across bftx; other packages may define their own. */
export const Domains = {
  vote: 'bftx.vote',
  block: 'bftx.block',
  proposal: 'bftx.proposal',
  timeout: 'bftx.timeout',
  order: 'bftx.order',
  handshake: 'bftx.handshake',
  keyId: 'bftx.key-id',
  merkleLeaf: 'bftx.merkle-leaf',
  /** A replica's execution attestation: (height, block hash, state root) after applying a finalized block. */
  attestation: 'bftx.attest',
} as const;

const prefixCaches = { 'bftx-hash': new Map<string, Uint8Array>(), 'bftx-sig': new Map<string, Uint8Array>() };

/**
 * The framing bytes `context || len(tag) || tag`, cached per context (no key
 * string built per call): the length byte makes the split between tag and
 * payload unambiguous.
 */
export function taggedPrefix(context: 'bftx-hash' | 'bftx-sig', tag: DomainTag): Uint8Array {
  const cache = prefixCaches[context];
  let prefix = cache.get(tag);
  if (prefix === undefined) {
    assertDomain(tag);
    const t = utf8(tag);
    prefix = concatBytes(utf8(context), Uint8Array.of(t.length), t);
    cache.set(tag, prefix);
  }
  return prefix;
}
