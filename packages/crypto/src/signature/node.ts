import type * as NodeCrypto from 'node:crypto';
import { fromHex, toHex } from '../bytes';
import type { Ed25519Backend } from './scheme';
import { isAcceptablePublicKey, isWellFormedSignature } from './strict';

// Loaded through process.getBuiltinModule (Node >= 20.16) rather than an
// import, so that bundles of @bftx/crypto for browsers never pull node:crypto.
function loadNodeCrypto(): typeof NodeCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    return proc.getBuiltinModule('node:crypto') as typeof NodeCrypto | undefined;
  } catch {
    return undefined;
  }
}

// DER headers that wrap raw Ed25519 keys for OpenSSL (RFC 8410).
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

function withPrefix(prefix: Uint8Array, key: Uint8Array): Uint8Array {
  const der = new Uint8Array(prefix.length + key.length);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}

/** The node:crypto (OpenSSL) backend, or undefined where node:crypto is not available. */
export function createNodeBackend(): Ed25519Backend | undefined {
  const nc = loadNodeCrypto();
  if (nc === undefined || typeof nc.verify !== 'function') return undefined;

  const privateKeyObject = (secretKey: Uint8Array) =>
    nc.createPrivateKey({ key: Buffer.from(withPrefix(PKCS8_PREFIX, secretKey)), format: 'der', type: 'pkcs8' });

  // Parsed public keys (or null for keys that fail bftx's rule), so repeated
  // verification skips DER parsing. Bounded: oldest entries go first.
  const MAX_CACHED_KEYS = 4096;
  const keys = new Map<string, NodeCrypto.KeyObject | null>();
  const publicKeyObject = (publicKey: Uint8Array): NodeCrypto.KeyObject | null => {
    const id = toHex(publicKey);
    const cached = keys.get(id);
    if (cached !== undefined) return cached;
    let key: NodeCrypto.KeyObject | null = null;
    if (isAcceptablePublicKey(publicKey)) {
      try {
        key = nc.createPublicKey({ key: Buffer.from(withPrefix(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' });
      } catch {
        key = null; // OpenSSL refused the point
      }
    }
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(id, key);
    return key;
  };

  const backend: Ed25519Backend = {
    name: 'node',
    publicKey(secretKey) {
      const spki = nc.createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
      return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
    },
    prepareSigner(secretKey) {
      const key = privateKeyObject(secretKey);
      return (message) => new Uint8Array(nc.sign(null, message, key));
    },
    verify(publicKey, message, signature) {
      if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(message instanceof Uint8Array)) return false;
      if (!isWellFormedSignature(signature)) return false;
      const key = publicKeyObject(publicKey);
      if (key === null) return false;
      try {
        return nc.verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
  return passesKnownAnswers(backend) ? backend : undefined;
}

// RFC 8032 section 7.1, test 1 (empty message). An OpenSSL build that gets
// this wrong is not used; "auto" then falls back to noble.
const KAT_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const KAT_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const KAT_SIGNATURE =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

function passesKnownAnswers(b: Ed25519Backend): boolean {
  try {
    const secret = fromHex(KAT_SECRET);
    const sig = b.prepareSigner(secret)(new Uint8Array(0));
    if (toHex(b.publicKey(secret)) !== KAT_PUBLIC || toHex(sig) !== KAT_SIGNATURE) return false;
    if (!b.verify(fromHex(KAT_PUBLIC), new Uint8Array(0), sig)) return false;
    const tampered = sig.slice();
    tampered[0]! ^= 1;
    return !b.verify(fromHex(KAT_PUBLIC), new Uint8Array(0), tampered);
  } catch {
    return false;
  }
}
