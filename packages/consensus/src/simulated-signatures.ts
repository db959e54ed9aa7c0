import { bytesEqual, concatBytes, hashParts, sha256, toHex, utf8, type KeyPair, type SignatureScheme } from '@bftx/crypto';

/**
 * A fast stand-in for Ed25519 inside simulations, behind the same
 * SignatureScheme interface: a signature is H || H with
 * H = SHA-256 over (domain, secret, payload), checked by looking the secret up
 * by public key. Unforgeable inside the simulator, because a replica (or an
 * adversary wrapper) only ever holds its own signer; it is NOT a real
 * signature scheme, and is used only where thousands of simulated runs must
 * be fast. Every protocol is also tested end to end with real Ed25519.
 */
export class SimulatedSignatureScheme implements SignatureScheme {
  readonly backend = 'simulated';
  private readonly secrets = new Map<string, Uint8Array>();
  /** The same lookup by key object: validator sets pass the same arrays every time, so no hex is built. */
  private readonly secretsByKeyObject = new WeakMap<Uint8Array, Uint8Array>();
  /**
   * Signatures this scheme made, by their first six bytes: every replica of a
   * simulation verifies the same signed statements, and a match on secret,
   * domain, payload and signature here is as good as recomputing the hash.
   * Bounded; a miss only costs a hash.
   */
  private readonly made = new Map<number, MadeSignature[]>();
  private madeCount = 0;

  /** A deterministic key pair for validator `seed`. */
  keyPair(seed: number): KeyPair {
    const secretKey = sha256(utf8(`bftx-sim-secret-${seed}`));
    return { secretKey, publicKey: this.publicKey(secretKey) };
  }

  publicKey(secretKey: Uint8Array): Uint8Array {
    const pk = sha256(concatBytes(utf8('bftx-sim-public'), secretKey));
    this.secrets.set(toHex(pk), secretKey);
    return pk;
  }

  signer(secretKey: Uint8Array) {
    const publicKey = this.publicKey(secretKey);
    return {
      publicKey,
      sign: (domain: string, payload: Uint8Array) => {
        const signature = sign(secretKey, domain, payload);
        this.remember({ secret: secretKey, domain, payload: payload.slice(), signature: signature.slice() });
        return signature;
      },
    };
  }

  verify(publicKey: Uint8Array, domain: string, payload: Uint8Array, signature: Uint8Array): boolean {
    let secret = this.secretsByKeyObject.get(publicKey);
    if (secret === undefined) {
      secret = this.secrets.get(toHex(publicKey));
      if (secret === undefined) return false;
      this.secretsByKeyObject.set(publicKey, secret);
    }
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    const bucket = this.made.get(prefixKey(signature));
    if (bucket !== undefined) {
      for (const m of bucket) {
        if (m.secret === secret && m.domain === domain && bytesEqual(m.signature, signature) && bytesEqual(m.payload, payload)) return true;
      }
    }
    return bytesEqual(sign(secret, domain, payload), signature);
  }

  private remember(m: MadeSignature): void {
    if (this.madeCount >= 100_000) {
      this.made.clear();
      this.madeCount = 0;
    }
    const key = prefixKey(m.signature);
    const bucket = this.made.get(key);
    if (bucket === undefined) this.made.set(key, [m]);
    else bucket.push(m);
    this.madeCount++;
  }
}

interface MadeSignature {
  readonly secret: Uint8Array;
  readonly domain: string;
  /** A copy: the caller may reuse its buffer. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

function prefixKey(sig: Uint8Array): number {
  return sig[0]! * 2 ** 40 + sig[1]! * 2 ** 32 + (((sig[2]! << 24) | (sig[3]! << 16) | (sig[4]! << 8) | sig[5]!) >>> 0);
}

function sign(secret: Uint8Array, domain: string, payload: Uint8Array): Uint8Array {
  const h = hashParts(domain, [secret, payload]);
  const signature = new Uint8Array(64);
  signature.set(h, 0);
  signature.set(h, 32);
  return signature;
}
