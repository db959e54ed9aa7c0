import { ValidatorSet } from '@bftx/consensus';
import { decode, encode, sha256, utf8 } from '@bftx/crypto';
import { AttestationCodec, attestationThreshold, signAttestation, verifyAttestations, type Attestation } from '../src/index';
import { scheme } from './helpers';

const signers = [0, 1, 2, 3].map((i) => scheme.signer(scheme.keyPair(500 + i).secretKey));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));
const statement = { height: 7, blockHash: sha256(utf8('block 7')), stateRoot: sha256(utf8('root 7')) };
const attest = (i: number, s = statement): Attestation => signAttestation(signers[i]!, i, s);

describe('execution attestations', () => {
  test('thresholds: f+1 and 2f+1 of the validator set', () => {
    expect(attestationThreshold(validators, 'f+1')).toBe(2);
    expect(attestationThreshold(validators, '2f+1')).toBe(3);
  });

  test('met with enough distinct valid signers, not met with fewer', () => {
    const two = verifyAttestations(validators, scheme, statement, [attest(2), attest(0)], 2);
    expect(two).toEqual({ ok: true, signers: [0, 2] });
    const short = verifyAttestations(validators, scheme, statement, [attest(2), attest(0)], 3);
    expect(short.ok).toBe(false);
  });

  test('a duplicate signer counts once', () => {
    const r = verifyAttestations(validators, scheme, statement, [attest(1), attest(1), attest(1)], 2);
    expect(r.ok).toBe(false);
    expect(verifyAttestations(validators, scheme, statement, [attest(1), attest(1), attest(3)], 2)).toEqual({ ok: true, signers: [1, 3] });
  });

  test('a signature over another root, height or block does not count', () => {
    const otherRoot = attest(1, { ...statement, stateRoot: sha256(utf8('other root')) });
    const otherHeight = attest(2, { ...statement, height: 8 });
    const otherBlock = attest(3, { ...statement, blockHash: sha256(utf8('other block')) });
    expect(verifyAttestations(validators, scheme, statement, [attest(0), otherRoot, otherHeight, otherBlock], 2).ok).toBe(false);
    // Relabelled to claim the statement: the signature does not verify over it.
    const relabelled = [otherRoot, otherHeight, otherBlock].map((a) => ({ ...a, ...statement }));
    expect(verifyAttestations(validators, scheme, statement, [attest(0), ...relabelled], 2).ok).toBe(false);
    // Signed by one validator, claimed by another.
    const stolen = { ...attest(0), signer: 1 };
    expect(verifyAttestations(validators, scheme, statement, [attest(0), stolen], 2).ok).toBe(false);
  });

  test('an out-of-range signer does not count', () => {
    const outsider = scheme.signer(scheme.keyPair(999).secretKey);
    const r = verifyAttestations(validators, scheme, statement, [attest(0), signAttestation(outsider, 4, statement)], 2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/not a validator/);
  });

  test('attestations round-trip through their codec', () => {
    const a = attest(3);
    expect(decode(AttestationCodec, encode(AttestationCodec, a))).toEqual(a);
    expect(encode(AttestationCodec, a).length).toBeLessThan(200);
  });
});
