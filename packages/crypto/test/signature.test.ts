import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import * as nodeCrypto from 'node:crypto';
import {
  createSignatureScheme,
  CryptoError,
  Domains,
  domainMessage,
  generateKeyPair,
  isNodeBackendAvailable,
  keyPairFromSeed,
  publicKeyId,
  toHex,
  utf8,
  type SignatureScheme,
} from '../src/index';
import { nobleBackend } from '../src/signature/noble';
import { createNodeBackend } from '../src/signature/node';
import { buildVectors } from './ed25519-vectors';

const vectors = buildVectors();
const nodeBackend = createNodeBackend()!;
const backends = [nobleBackend, nodeBackend];

describe('one verification rule on every backend', () => {
  test('the vector suite is the one the README describes', () => {
    expect(vectors).toHaveLength(31);
    expect(vectors.filter((v) => v.valid)).toHaveLength(5);
  });

  test('the node backend is available here', () => {
    expect(isNodeBackendAvailable()).toBe(true);
    expect(nodeBackend).toBeDefined();
  });

  test.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    for (const b of backends) expect([b.name, b.verify(v.publicKey, v.message, v.signature)]).toEqual([b.name, v.valid]);
  });

  test('the vectors separate the raw libraries, so the shared rule is doing real work', () => {
    const spki = (pk: Uint8Array) => Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]);
    const rawOpenssl = (v: (typeof vectors)[number]) => {
      try {
        return nodeCrypto.verify(null, v.message, nodeCrypto.createPublicKey({ key: spki(v.publicKey), format: 'der', type: 'spki' }), v.signature);
      } catch {
        return false;
      }
    };
    const rawNobleStrict = (v: (typeof vectors)[number]) => {
      try {
        return ed.verify(v.signature, v.message, v.publicKey, { zip215: false });
      } catch {
        return false;
      }
    };
    // OpenSSL alone accepts small-order and non-canonical keys; noble's strict
    // mode alone (cofactored) accepts mixed-order keys and R.
    const opensslOnly = vectors.filter((v) => !v.valid && rawOpenssl(v)).map((v) => v.name);
    const nobleOnly = vectors.filter((v) => !v.valid && rawNobleStrict(v)).map((v) => v.name);
    expect(opensslOnly.some((n) => n.startsWith('small-order public key'))).toBe(true);
    expect(nobleOnly).toEqual(expect.arrayContaining([expect.stringMatching(/^mixed-order public key, k mod 8 != 0/), expect.stringMatching(/^mixed-order R/)]));
  });

  test('both backends produce byte-identical signatures and public keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (secret, message) => {
        const pubs = backends.map((b) => toHex(b.publicKey(secret)));
        const sigs = backends.map((b) => toHex(b.prepareSigner(secret)(message)));
        expect(pubs[0]).toBe(pubs[1]);
        expect(sigs[0]).toBe(sigs[1]);
        expect(toHex(ed.sign(message, secret))).toBe(sigs[0]); // and the same as noble's own sign
      }),
      { numRuns: bftxRuns(100) },
    );
  });

  test('random corruptions of valid signatures get the same verdict from both backends', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('signature', 'publicKey', 'message', 'none'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (secret, message, target, pos, xor) => {
          const publicKey = nobleBackend.publicKey(secret);
          const signature = nobleBackend.prepareSigner(secret)(message);
          const input = { publicKey, message, signature };
          if (target !== 'none') {
            const b = input[target].slice();
            if (b.length > 0) b[pos % b.length]! ^= xor;
            input[target] = b;
          }
          const verdicts = backends.map((be) => be.verify(input.publicKey, input.message, input.signature));
          expect(verdicts[0]).toBe(verdicts[1]);
          if (target === 'none') expect(verdicts[0]).toBe(true);
        },
      ),
      { numRuns: bftxRuns(150) },
    );
  });
});

describe.each([
  ['noble', createSignatureScheme('noble')],
  ['node', createSignatureScheme('node')],
] as Array<[string, SignatureScheme]>)('SignatureScheme (%s)', (_name, scheme) => {
  const keys = keyPairFromSeed(scheme, new Uint8Array(32).fill(7));
  const signer = scheme.signer(keys.secretKey);
  const payload = utf8('vote for block 42');

  test('signs and verifies over (domain, payload)', () => {
    const s = signer.sign(Domains.vote, payload);
    expect(s).toHaveLength(64);
    expect(scheme.verify(keys.publicKey, Domains.vote, payload, s)).toBe(true);
    expect(signer.publicKey).toEqual(keys.publicKey);
  });

  test('domain separation: a signature for one domain never verifies under another', () => {
    const s = signer.sign(Domains.vote, payload);
    for (const other of [Domains.block, Domains.order, Domains.proposal, 'bftx.vote2', 'bftx.vot']) {
      expect(scheme.verify(keys.publicKey, other, payload, s)).toBe(false);
    }
    // and the signed bytes are not the raw payload
    expect(nobleBackend.verify(keys.publicKey, payload, s)).toBe(false);
    expect(nobleBackend.verify(keys.publicKey, domainMessage(Domains.vote, payload), s)).toBe(true);
  });

  test('domain framing is unambiguous: moving bytes between tag and payload changes the message', () => {
    expect(toHex(domainMessage('bftx.a', utf8('bc')))).not.toBe(toHex(domainMessage('bftx.ab', utf8('c'))));
  });

  test('a wrong key, payload or signature is rejected', () => {
    const s = signer.sign(Domains.order, payload);
    const other = keyPairFromSeed(scheme, new Uint8Array(32).fill(8));
    expect(scheme.verify(other.publicKey, Domains.order, payload, s)).toBe(false);
    expect(scheme.verify(keys.publicKey, Domains.order, utf8('vote for block 43'), s)).toBe(false);
    expect(scheme.verify(keys.publicKey, Domains.order, payload, new Uint8Array(64))).toBe(false);
    expect(scheme.verify(keys.publicKey, Domains.order, payload, s.subarray(0, 10))).toBe(false);
  });

  test('bad arguments are typed errors, bad keys and signatures are just false', () => {
    expect(() => signer.sign('Not A Domain', payload)).toThrow(CryptoError);
    expect(() => scheme.verify(keys.publicKey, '', payload, new Uint8Array(64))).toThrow(CryptoError);
    expect(() => scheme.signer(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
    expect(() => scheme.publicKey('secret' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => scheme.verify('pk' as unknown as Uint8Array, Domains.vote, payload, new Uint8Array(64))).toThrow(CryptoError);
    expect(scheme.verify(new Uint8Array(32), Domains.vote, payload, new Uint8Array(64))).toBe(false);
  });
});

describe('keys and backend selection', () => {
  test('auto picks the node backend here; unknown names are refused', () => {
    expect(createSignatureScheme().backend).toBe('node');
    expect(createSignatureScheme('auto').backend).toBe('node');
    expect(createSignatureScheme('noble').backend).toBe('noble');
    expect(() => createSignatureScheme('openssl' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('keys from a seed are deterministic; random keys differ and work', () => {
    const scheme = createSignatureScheme();
    const a = keyPairFromSeed(scheme, new Uint8Array(32).fill(1));
    const b = keyPairFromSeed(scheme, new Uint8Array(32).fill(1));
    expect(a.publicKey).toEqual(b.publicKey);
    const r1 = generateKeyPair(scheme);
    const r2 = generateKeyPair(scheme);
    expect(toHex(r1.secretKey)).not.toBe(toHex(r2.secretKey));
    const s = scheme.signer(r1.secretKey).sign(Domains.vote, payloadOf(1));
    expect(scheme.verify(r1.publicKey, Domains.vote, payloadOf(1), s)).toBe(true);
    expect(() => keyPairFromSeed(scheme, new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
  });

  test('public key ids are stable, distinct and checked', () => {
    const scheme = createSignatureScheme();
    const pk = keyPairFromSeed(scheme, new Uint8Array(32).fill(1)).publicKey;
    expect(publicKeyId(pk)).toMatch(/^[0-9a-f]{64}$/);
    expect(publicKeyId(pk)).toBe(publicKeyId(pk.slice()));
    expect(publicKeyId(pk)).not.toBe(publicKeyId(keyPairFromSeed(scheme, new Uint8Array(32).fill(2)).publicKey));
    expect(() => publicKeyId(new Uint8Array(31))).toThrow(CryptoError);
  });
});

function payloadOf(n: number): Uint8Array {
  return Uint8Array.of(n);
}
