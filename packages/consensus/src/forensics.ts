// Forensics after a safety violation (issue 22): from what honest replicas received (their
// transcripts), show the fork (two commit certificates for different blocks at one height) and
// name the validators that broke safety, each with a pair of its own conflicting signed statements.
// Everything in a proof checks with the validator keys alone (Sheng et al., "BFT Protocol
// Forensics", CCS 2021; Tendermint's accountability).
//
// Why at least f+1: two commit certificates hold a quorum each (ceil(2n/3)), and two quorums share
// at least f+1 validators. When both certificates certify their blocks in the same (view,
// sequence), each shared validator signed two different blocks for one slot, and the certificates
// themselves hold both signatures (`CommitCheck.statements`): an equivocation any recipient can
// check. The split-brain attack (a coalition voting in two partitions that certify in step) is of
// that kind. A culprit counts for the fork only if it signed both certificates. A fork reached
// across views (honest leaders, view changes) needs protocol-specific rules (a vote against a
// lock, a view change that hides a prepare): not here.
import { bytesEqual, toHex, type SignatureScheme } from '@bftx/crypto';
import { EquivocationDetector, verifyEvidence, type EquivocationEvidence } from './evidence';
import type { ProtocolDefinition } from './protocol';
import { StatementVerifier } from './statement';
import type { ValidatorSet } from './validators';

/** What one honest replica received, as bytes (its wire log): the messages, and the commit certificates it output. */
export interface Transcript {
  readonly replica: number;
  readonly messages: readonly Uint8Array[];
  readonly certificates: readonly Uint8Array[];
}

/** A block shown final by a commit certificate. */
export interface CertifiedBlock {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly certificate: Uint8Array;
  /** The validators whose signatures the certificate carries, ascending. */
  readonly signers: readonly number[];
}

/** Two certified blocks at one height, and the validators convicted of equivocating. */
export interface ForkProof {
  readonly first: CertifiedBlock;
  readonly second: CertifiedBlock;
  readonly culprits: readonly EquivocationEvidence[];
}

export interface ForensicReport {
  /** The fork, when the transcripts hold two certificates for different blocks at one height. */
  readonly fork: { readonly first: CertifiedBlock; readonly second: CertifiedBlock } | undefined;
  /** One equivocation per validator found signing two blocks for one slot, lowest validator first (in the fork or not). */
  readonly culprits: readonly EquivocationEvidence[];
  /** Present when there is a fork and at least f+1 culprits that signed both its certificates: what `verifyForkProof` accepts. */
  readonly proof: ForkProof | undefined;
  /** Messages that did not decode, and statements whose signature did not verify (ignored: a transcript may hold a Byzantine peer's garbage). */
  readonly ignored: { readonly undecodable: number; readonly badSignatures: number };
}

/**
 * Reads the transcripts: every certificate is checked by the protocol's `verifyCommit`, every
 * statement (`ProtocolDefinition.votes`) by its signer's key; two verified statements of one
 * validator for one (domain, view, sequence) and different blocks convict it.
 */
export function investigate<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SignatureScheme, transcripts: readonly Transcript[]): ForensicReport {
  if (protocol.verifyCommit === undefined) throw new RangeError(`${protocol.name} has no verifyCommit: its certificates cannot be checked`);
  const verifier = new StatementVerifier(validators, scheme);
  const detector = new EquivocationDetector();
  const culprits: EquivocationEvidence[] = [];
  let undecodable = 0;
  let badSignatures = 0;
  const byHeight = new Map<number, CertifiedBlock>();
  let fork: ForensicReport['fork'];
  for (const t of transcripts) {
    for (const bytes of t.messages) {
      let message: M;
      try {
        message = protocol.decodeMessage(bytes);
      } catch {
        undecodable++;
        continue;
      }
      for (const s of protocol.votes(message)) {
        if (!verifier.verify(s)) {
          badSignatures++;
          continue;
        }
        const e = detector.observe(s);
        if (e?.kind === 'equivocation') culprits.push(e);
      }
    }
    for (const certificate of t.certificates) {
      const check = protocol.verifyCommit(certificate, validators, scheme);
      if (!check.ok) continue;
      // The certificate's own signatures (checked by verifyCommit): the two branches' quorums meet here.
      for (const s of check.statements ?? []) {
        const e = detector.observe(s);
        if (e?.kind === 'equivocation') culprits.push(e);
      }
      const seen = byHeight.get(check.height);
      const block = { height: check.height, blockHash: check.blockHash, certificate, signers: signersIn(check) };
      if (seen === undefined) byHeight.set(check.height, block);
      else if (fork === undefined && !bytesEqual(seen.blockHash, check.blockHash)) fork = { first: seen, second: block };
    }
  }
  culprits.sort((a, b) => a.offender - b.offender);
  const inFork = fork === undefined ? [] : culprits.filter((e) => fork.first.signers.includes(e.offender) && fork.second.signers.includes(e.offender));
  const proof = fork !== undefined && inFork.length >= validators.oneHonest ? { ...fork, culprits: inFork } : undefined;
  return { fork, culprits, proof, ignored: { undecodable, badSignatures } };
}

function signersIn(check: { readonly statements?: readonly { readonly signer: number }[] }): number[] {
  return [...new Set((check.statements ?? []).map((s) => s.signer))].sort((a, b) => a - b);
}

export type ForkProofCheck = { readonly ok: true; readonly height: number; readonly convicted: readonly number[] } | { readonly ok: false; readonly reason: string };

/**
 * Checks a fork proof with the validator keys alone: two valid certificates for different blocks at
 * one height, and at least f+1 distinct validators that signed both certificates, each shown to
 * equivocate (two statements of its own for one slot and two blocks).
 */
export function verifyForkProof<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SignatureScheme, proof: ForkProof): ForkProofCheck {
  if (protocol.verifyCommit === undefined) return { ok: false, reason: `${protocol.name} has no verifyCommit` };
  const checks = [proof.first, proof.second].map((b) => protocol.verifyCommit!(b.certificate, validators, scheme));
  for (const [i, c] of checks.entries()) {
    if (!c.ok) return { ok: false, reason: `certificate ${i + 1} does not verify: ${c.reason}` };
  }
  const [a, b] = checks as [Extract<(typeof checks)[number], { ok: true }>, Extract<(typeof checks)[number], { ok: true }>];
  if (a.height !== b.height) return { ok: false, reason: `the certificates are for heights ${a.height} and ${b.height}, not one` };
  if (bytesEqual(a.blockHash, b.blockHash)) return { ok: false, reason: `both certificates certify block ${toHex(a.blockHash).slice(0, 12)}: no fork` };
  if (a.statements === undefined || b.statements === undefined) return { ok: false, reason: `${protocol.name}'s certificates do not say who signed them: culprits cannot be tied to the fork` };
  const [signedA, signedB] = [signersIn(a), signersIn(b)];
  const verifier = new StatementVerifier(validators, scheme);
  const convicted = new Set<number>();
  for (const e of proof.culprits) {
    if (!verifyEvidence(e, verifier)) return { ok: false, reason: `the evidence against validator ${e.offender} does not verify` };
    if (!signedA.includes(e.offender) || !signedB.includes(e.offender)) return { ok: false, reason: `validator ${e.offender} did not sign both certificates: its equivocation is not this fork's` };
    convicted.add(e.offender);
  }
  if (convicted.size < validators.oneHonest) return { ok: false, reason: `${convicted.size} distinct culprits; a fork implies at least f+1 = ${validators.oneHonest}` };
  return { ok: true, height: a.height, convicted: [...convicted].sort((x, y) => x - y) };
}
