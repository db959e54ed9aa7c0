import { CryptoError } from '../errors';
import { nobleBackend } from './noble';
import { createNodeBackend } from './node';
import { schemeFromBackend, type Ed25519Backend, type SignatureScheme } from './scheme';

/** Which Ed25519 implementation to use: "noble" (pure JS, everywhere), "node" (OpenSSL, Node only), or "auto". */
export type SignatureBackend = 'noble' | 'node' | 'auto';

let nodeBackend: Ed25519Backend | undefined | null = null;
function getNodeBackend(): Ed25519Backend | undefined {
  if (nodeBackend === null) nodeBackend = createNodeBackend();
  return nodeBackend;
}

/** True where the node:crypto backend can be used. */
export function isNodeBackendAvailable(): boolean {
  return getNodeBackend() !== undefined;
}

/**
 * A SignatureScheme for the chosen backend. "auto" picks "node" where it is
 * available (about 10x faster verification, same verdicts: see the tests),
 * else "noble". Asking for "node" where there is no node:crypto throws
 * CryptoError BACKEND_UNAVAILABLE.
 */
export function createSignatureScheme(backend: SignatureBackend = 'auto'): SignatureScheme {
  switch (backend) {
    case 'noble':
      return schemeFromBackend(nobleBackend);
    case 'node': {
      const b = getNodeBackend();
      if (b === undefined) throw new CryptoError('BACKEND_UNAVAILABLE', 'the "node" signature backend needs node:crypto (Node.js >= 20.16)');
      return schemeFromBackend(b);
    }
    case 'auto':
      return schemeFromBackend(getNodeBackend() ?? nobleBackend);
    default:
      throw new CryptoError('INVALID_ARGUMENT', `unknown signature backend ${JSON.stringify(backend)} (expected "noble", "node" or "auto")`);
  }
}
