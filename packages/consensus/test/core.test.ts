import { createSignatureScheme, Domains, utf8 } from '@bftx/crypto';
import {
  ConsensusError,
  EquivocationDetector,
  GENESIS,
  Ledger,
  makeBlock,
  makeCertificate,
  payloadMatches,
  sealBlock,
  signStatement,
  SimulatedSignatureScheme,
  StatementVerifier,
  ValidatorSet,
  verifyCertificate,
  verifyEvidence,
  type Block,
} from '../src/index';

function cluster(n: number, real = false) {
  const scheme = real ? createSignatureScheme('noble') : new SimulatedSignatureScheme();
  const keys = Array.from({ length: n }, (_, i) => (real ? { secretKey: new Uint8Array(32).fill(i + 1) } : (scheme as SimulatedSignatureScheme).keyPair(i)));
  const signers = keys.map((k) => scheme.signer(k.secretKey));
  const validators = new ValidatorSet(signers.map((s) => s.publicKey));
  return { scheme, signers, validators, verifier: new StatementVerifier(validators, scheme) };
}

const child = (parent: Block, view: number, tag = 0): Block => makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: 0, payload: [Uint8Array.of(tag)] });

describe('ValidatorSet', () => {
  test('f and quorum for common sizes', () => {
    const sizes = [1, 4, 5, 6, 7, 10, 64].map((n) => {
      const v = cluster(n).validators;
      return [n, v.f, v.quorum];
    });
    expect(sizes).toEqual([[1, 0, 1], [4, 1, 3], [5, 1, 4], [6, 1, 4], [7, 2, 5], [10, 3, 7], [64, 21, 43]]);
  });
  test('n < 3f + 1, duplicate keys and bad keys are refused with a clear error', () => {
    const keys = cluster(4).validators.publicKeys;
    expect(() => new ValidatorSet(keys, { f: 2 })).toThrow(/n >= 3f \+ 1 = 7/);
    expect(() => new ValidatorSet([keys[0]!, keys[0]!])).toThrow(ConsensusError);
    expect(() => new ValidatorSet([new Uint8Array(31)])).toThrow(/32 bytes/);
    expect(() => new ValidatorSet([])).toThrow(ConsensusError);
    expect(() => cluster(4).validators.key(4)).toThrow(expect.objectContaining({ code: 'UNKNOWN_VALIDATOR' }));
  });
  test('for every n from 1 to 64 and every f it allows: two quorums share at least f+1 validators, a quorum of the n-f honest ones exists, f+1 holds an honest one', () => {
    const keys = cluster(64).validators.publicKeys;
    for (let n = 1; n <= 64; n++) {
      for (let f = 0; 3 * f + 1 <= n; f++) {
        const v = new ValidatorSet(keys.slice(0, n), { f });
        const q = v.threshold('quorum');
        expect(q).toBe(v.quorum);
        // Smallest overlap of two quorums of n: 2q - n. Safety needs an honest validator in it.
        expect(2 * q - n).toBeGreaterThanOrEqual(f + 1);
        // Liveness: the honest validators alone can form a quorum.
        expect(q).toBeLessThanOrEqual(n - f);
        expect(v.threshold('one-honest')).toBe(f + 1);
        expect(v.oneHonest).toBe(f + 1);
      }
    }
  });
});

describe('blocks', () => {
  test('hash covers header and payload root; payload tampering is detected', () => {
    const b = child(GENESIS, 1, 7);
    expect(b.id).toMatch(/^[0-9a-f]{64}$/);
    expect(child(GENESIS, 1, 7).id).toBe(b.id);
    expect(child(GENESIS, 2, 7).id).not.toBe(b.id);
    expect(child(GENESIS, 1, 8).id).not.toBe(b.id);
    expect(payloadMatches(b)).toBe(true);
    expect(payloadMatches({ ...b, payload: [Uint8Array.of(9)] })).toBe(false);
    // A block decoded with a payload that does not match its header is refused each time it is
    // asked (only matching blocks are remembered), and one that matches stays matching.
    const forged = { ...b, payload: [Uint8Array.of(9)] };
    expect(payloadMatches(forged)).toBe(false);
    expect(payloadMatches(forged)).toBe(false);
    const decoded = sealBlock({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot, payload: b.payload });
    expect(payloadMatches(decoded)).toBe(true);
    expect(payloadMatches(decoded)).toBe(true);
  });
});

describe.each([
  ['simulated', false],
  ['ed25519', true],
])('statements and certificates (%s signatures)', (_name, real) => {
  const { signers, validators, verifier } = cluster(4, real);
  const b = child(GENESIS, 1);
  const votes = signers.map((s, i) => signStatement(s, i, Domains.vote, { view: 1, sequence: 0, blockHash: b.hash }));

  test('a quorum of distinct signers certifies; fewer, duplicates or a bad signature do not', () => {
    const qc = makeCertificate(votes.slice(0, 3), 4);
    expect(verifyCertificate(qc, verifier)).toBe(true);
    expect(verifyCertificate(makeCertificate(votes.slice(0, 2), 4), verifier)).toBe(false);
    expect(verifyCertificate(makeCertificate([votes[0]!, votes[0]!, votes[1]!], 4), verifier)).toBe(false);
    const forged = { ...qc, signatures: [qc.signatures[0]!, qc.signatures[1]!, new Uint8Array(64)] };
    expect(verifyCertificate(forged, verifier)).toBe(false);
    const otherBlock = { ...qc, blockHash: child(GENESIS, 1, 9).hash };
    expect(verifyCertificate(otherBlock, verifier)).toBe(false);
    expect(verifyCertificate({ ...qc, domain: Domains.proposal }, verifier)).toBe(false);
    expect(verifyCertificate({ ...qc, signers: Uint8Array.of(0xff) }, verifier)).toBe(false); // claims a 5th, 6th... signer
  });

  test('each signature is verified once', () => {
    const v = new StatementVerifier(validators, verifier.scheme);
    for (let i = 0; i < 3; i++) for (const s of votes) v.verify(s);
    expect(v.verifications).toBe(4);
  });

  test('bad signatures that share their first bytes (the sender shapes them freely) are not kept: no bucket grows into a scan', () => {
    const v = new StatementVerifier(validators, verifier.scheme);
    for (let i = 0; i < 2_000; i++) {
      const sig = new Uint8Array(64).fill(7);
      sig[60] = i & 0xff;
      sig[61] = i >> 8;
      expect(v.verify({ ...votes[0]!, signature: sig })).toBe(false);
    }
    expect((v as unknown as { seen: Map<number, unknown[]> }).seen.size).toBe(0);
    // Good ones are still found again without a second verification.
    v.verify(votes[0]!);
    const before = v.verifications;
    expect(v.verify(votes[0]!)).toBe(true);
    expect(v.verifications).toBe(before);
  });

  test('a signature cannot be moved to another signer', () => {
    expect(verifier.verify({ ...votes[0]!, signer: 1 })).toBe(false);
    expect(verifier.verify({ ...votes[0]!, signer: 99 })).toBe(false);
  });
});

describe('equivocation evidence', () => {
  const { signers, verifier } = cluster(4);
  const a = child(GENESIS, 1, 1);
  const b = child(GENESIS, 1, 2);
  test('two votes for different blocks in one view by one key: reported once, verifiable', () => {
    const d = new EquivocationDetector();
    const v1 = signStatement(signers[2]!, 2, Domains.vote, { view: 1, sequence: 0, blockHash: a.hash });
    const v2 = signStatement(signers[2]!, 2, Domains.vote, { view: 1, sequence: 0, blockHash: b.hash });
    const v3 = signStatement(signers[2]!, 2, Domains.vote, { view: 1, sequence: 0, blockHash: child(GENESIS, 1, 3).hash });
    expect(d.observe(v1)).toBeUndefined();
    expect(d.observe(v1)).toBeUndefined(); // the same vote again is not evidence
    const e = d.observe(v2)!;
    expect(e).toEqual(expect.objectContaining({ kind: 'equivocation', offender: 2 }));
    expect(verifyEvidence(e, verifier)).toBe(true);
    expect(d.observe(v3)).toBeUndefined(); // the offender is reported once
  });
  test('evidence that does not show a conflict, or is forged, does not verify', () => {
    const v1 = signStatement(signers[1]!, 1, Domains.vote, { view: 1, sequence: 0, blockHash: a.hash });
    const v2 = signStatement(signers[1]!, 1, Domains.vote, { view: 2, sequence: 0, blockHash: b.hash });
    expect(verifyEvidence({ kind: 'equivocation', offender: 1, first: v1, second: v2 }, verifier)).toBe(false); // different views
    const framed = { ...signStatement(signers[0]!, 0, Domains.vote, { view: 1, sequence: 0, blockHash: b.hash }), signer: 1 };
    expect(verifyEvidence({ kind: 'equivocation', offender: 1, first: v1, second: framed }, verifier)).toBe(false); // someone else's signature
  });
});

describe('Ledger', () => {
  const b1 = child(GENESIS, 1);
  const b2 = child(b1, 2);
  const b2x = child(b1, 3);
  test('appends, is idempotent, and refuses conflicts and gaps without changing', () => {
    const l = new Ledger();
    expect(l.extend([b1, b2]).map((b) => b.height)).toEqual([1, 2]);
    expect(l.extend([b1, b2])).toEqual([]);
    expect(() => l.extend([b2x])).toThrow(expect.objectContaining({ code: 'LEDGER_CONFLICT' }));
    expect(() => l.extend([child(child(b2, 3), 4)])).toThrow(expect.objectContaining({ code: 'LEDGER_GAP' }));
    expect(l.height).toBe(2);
    expect(l.tip.id).toBe(b2.id);
  });
});

describe('simulated signatures', () => {
  test('verify only under the signing key and domain', () => {
    const s = new SimulatedSignatureScheme();
    const a = s.signer(s.keyPair(1).secretKey);
    const b = s.keyPair(2);
    const sig = a.sign('bftx.vote', utf8('x'));
    expect(s.verify(a.publicKey, 'bftx.vote', utf8('x'), sig)).toBe(true);
    expect(s.verify(b.publicKey, 'bftx.vote', utf8('x'), sig)).toBe(false);
    expect(s.verify(a.publicKey, 'bftx.block', utf8('x'), sig)).toBe(false);
    expect(s.verify(new Uint8Array(32), 'bftx.vote', utf8('x'), sig)).toBe(false);
  });

  test('the memo of signatures made never accepts what recomputing would refuse', () => {
    const s = new SimulatedSignatureScheme();
    const a = s.signer(s.keyPair(1).secretKey);
    const b = s.keyPair(2);
    const payload = utf8('statement');
    const sig = a.sign('bftx.vote', payload);
    payload[0] = 0; // the caller reuses its buffer: the memo kept a copy
    expect(s.verify(a.publicKey, 'bftx.vote', utf8('statement'), sig)).toBe(true);
    expect(s.verify(a.publicKey, 'bftx.vote', payload, sig)).toBe(false);
    expect(s.verify(b.publicKey, 'bftx.vote', utf8('statement'), sig)).toBe(false);
    const tampered = sig.slice();
    tampered[63] = tampered[63]! ^ 1;
    expect(s.verify(a.publicKey, 'bftx.vote', utf8('statement'), tampered)).toBe(false);
    // A fresh scheme (no memo) agrees on the valid signature.
    const fresh = new SimulatedSignatureScheme();
    fresh.keyPair(1);
    expect(fresh.verify(a.publicKey, 'bftx.vote', utf8('statement'), sig)).toBe(true);
  });
});
