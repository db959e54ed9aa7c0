// Commit certificates, checked from the outside: what a light client holding only the validator
// keys can conclude from what an honest replica output. In generated runs of every class, every
// certificate an honest replica outputs must verify and name the last block of its commit (the
// simulator checks each as it comes; checkOutcome reports it); then the certificates a run produced
// must prove nothing once tampered with: any one bit flipped, cut short, other validators' keys,
// fewer signatures than a quorum; and a finality proof (a certificate with the headers below it)
// must prove the block at the bottom and nothing else.
import { blockHash, SimulatedSignatureScheme, ValidatorSet, verifyFinality, type BlockHeader, type ProtocolDefinition } from '@bftx/consensus';
import { bytesEqual, toHex } from '@bftx/crypto';
import type { SimulationResult } from '@bftx/sim';
import fc from 'fast-check';
import { anyClassArb, checkOutcome, runSpec, type RunSpec } from './classes';

/** Bit positions flipped per certificate (spread over its whole length, offset by the run's seed). */
export const FLIPPED_BITS = 48;

/** The validator set and scheme of a simulated run of n replicas (the simulator's keys), or other keys. */
export function simulatedValidators(n: number, other = false): { validators: ValidatorSet; scheme: SimulatedSignatureScheme } {
  const scheme = new SimulatedSignatureScheme();
  const validators = new ValidatorSet(Array.from({ length: n }, (_, i) => scheme.keyPair(other ? 1_000_000 + i : i).publicKey));
  return { validators, scheme };
}

/**
 * Every problem with the certificates of one run's honest replicas seen from outside, or undefined.
 * `seed` picks the flipped bits. Exported for the protocols' own tests.
 */
export function certificateProblem<M>(protocol: ProtocolDefinition<M>, n: number, outcome: SimulationResult, seed: number): string | undefined {
  if (protocol.verifyCommit === undefined) return `protocol ${protocol.name} has no verifyCommit`;
  const verify = protocol.verifyCommit.bind(protocol);
  const { validators, scheme } = simulatedValidators(n);
  const others = simulatedValidators(n, true);
  for (const r of outcome.replicas) {
    if (!r.honest) continue;
    const samples = r.certificates.samples;
    for (const s of samples) {
      const at = `replica ${r.validator}, certificate of height ${s.height}`;
      const good = verify(s.certificate, validators, scheme);
      if (!good.ok) return `${at}: does not verify: ${good.reason}`;
      const top = s.headers[0];
      if (good.height !== s.height || top === undefined || !bytesEqual(good.blockHash, blockHash(top))) return `${at}: proves height ${good.height} (${toHex(good.blockHash).slice(0, 12)}), not its ledger block`;
      // Any one bit flipped: refused (a sample of positions over the whole certificate).
      const bits = s.certificate.length * 8;
      for (let k = 0; k < FLIPPED_BITS; k++) {
        const bit = Math.floor(((k + ((seed % 997) + 1) / 998) * bits) / FLIPPED_BITS) % bits;
        const flipped = s.certificate.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const check = verify(flipped, validators, scheme);
        if (check.ok) return `${at}: still verifies with bit ${bit} of ${bits} flipped (proves height ${check.height})`;
      }
      // Cut short or extended: refused, never thrown.
      for (const length of [0, 1, s.certificate.length >> 1, s.certificate.length - 1]) {
        if (verify(s.certificate.slice(0, length), validators, scheme).ok) return `${at}: still verifies cut to ${length} bytes`;
      }
      const longer = new Uint8Array(s.certificate.length + 1);
      longer.set(s.certificate);
      if (verify(longer, validators, scheme).ok) return `${at}: still verifies with a byte appended`;
      // Other validators' keys: refused.
      const foreign = verify(s.certificate, others.validators, others.scheme);
      if (foreign.ok) return `${at}: verifies against another validator set`;
      // Fewer signatures than a quorum in every set: refused.
      const thin = protocol.byzantine?.thinCertificate?.(s.certificate, validators.quorum - 1);
      if (thin === undefined) return `${at}: the protocol cannot thin its own certificate`;
      const thinCheck = verify(thin, validators, scheme);
      if (thinCheck.ok) return `${at}: verifies with ${validators.quorum - 1} signatures per set (quorum ${validators.quorum})`;
      // A finality proof: the certificate and the headers below its block prove the lowest of them.
      const problem = finalityProblem(protocol, validators, scheme, s.certificate, s.headers);
      if (problem !== undefined) return `${at}: ${problem}`;
    }
    // A certificate for a lower height than the headers claim: refused.
    if (samples.length === 2 && samples[0]!.height < samples[1]!.height) {
      const lower = verifyFinality(protocol, validators, scheme, { certificate: samples[0]!.certificate, headers: samples[1]!.headers });
      if (lower.ok) return `replica ${r.validator}: the certificate of height ${samples[0]!.height} proves the headers from height ${samples[1]!.height} down`;
    }
  }
  return undefined;
}

/** What `verifyFinality` must do with a certificate and the headers from its block down. */
function finalityProblem<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SimulatedSignatureScheme, certificate: Uint8Array, headers: readonly BlockHeader[]): string | undefined {
  const proof = verifyFinality(protocol, validators, scheme, { certificate, headers });
  const bottom = headers[headers.length - 1]!;
  if (!proof.ok) return `the finality proof with ${headers.length} headers fails: ${proof.reason}`;
  if (proof.height !== bottom.height || !bytesEqual(proof.blockHash, blockHash(bottom))) return `the finality proof proves height ${proof.height}, not its last header's ${bottom.height}`;
  if (headers.length < 2) return undefined;
  // A broken link: the second header altered (its hash no longer the first's parent).
  const broken = headers.map((h, i) => (i === 1 ? { ...h, payloadRoot: flipFirstBit(h.payloadRoot) } : h));
  if (verifyFinality(protocol, validators, scheme, { certificate, headers: broken }).ok) return 'a finality proof with a broken hash link verifies';
  // A header claiming another height (the first one's height changed, or the first one left out).
  if (verifyFinality(protocol, validators, scheme, { certificate, headers: headers.map((h, i) => (i === 0 ? { ...h, height: h.height + 1 } : h)) }).ok) return 'a finality proof whose first header claims another height verifies';
  if (verifyFinality(protocol, validators, scheme, { certificate, headers: headers.slice(1) }).ok) return 'a finality proof whose headers start below the certified block verifies';
  return undefined;
}

function flipFirstBit(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[0]! ^= 1;
  return out;
}

/**
 * The property: in generated runs of every class, the certificates honest replicas output verify,
 * name the last block of their commit (checkOutcome) and fail once tampered with (certificateProblem).
 */
export function certificateProperty<M>(protocol: ProtocolDefinition<M>, strategies: readonly string[]) {
  return fc.property(anyClassArb(protocol, strategies), (spec: RunSpec) => {
    const outcome = runSpec(protocol, spec, { checkCertificates: true });
    const problem = checkOutcome(protocol, spec, outcome) ?? certificateProblem(protocol, spec.n, outcome, spec.seed);
    if (problem !== undefined) throw new Error(`${problem}\nspec: ${JSON.stringify(spec)}`);
  });
}
