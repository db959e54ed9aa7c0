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
// that kind. A culprit is a validator shown to sign two blocks for one slot (which no honest
// validator does), tied to the fork: its two statements are the certificates' own, one in each
// (the fork's cause itself), or it signed both certificates (PBFT's two sides may commit one
// sequence in different views, leaving no such pair; the equivocation is then in the transcripts).
// Only equivocations count: other evidence (an unfair proposal) says nothing of a fork. A fork reached
// across views (honest leaders, view changes) needs protocol-specific rules (a vote against a
// lock, a view change that hides a prepare): not here.
import { bytesEqual, toHex, type SignatureScheme } from '@bftx/crypto';
import { EquivocationDetector, verifyEvidence, type EquivocationEvidence } from './evidence';
import type { ProtocolDefinition } from './protocol';
import { StatementVerifier, type SignedStatement } from './statement';
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

/**
 * Two certified blocks at one height, and the validators convicted of equivocating: each culprit's
 * two statements are signatures of the two certificates (one in each) for one slot, or its
 * equivocation is elsewhere and it signed both certificates.
 */
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
  /** Present when there is a fork and at least f+1 culprits tied to it (see the top of this file): what `verifyForkProof` accepts. */
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
  const certifiedStatements = new Map<CertifiedBlock, readonly SignedStatement[]>();
  let fork: ForensicReport['fork'];
  for (const t of Array.isArray(transcripts) ? transcripts : []) {
    // A transcript is read as given, and may come from anyone: what is not bytes is skipped and counted.
    const messages: unknown[] = Array.isArray(t?.messages) ? t.messages : [];
    const certificates: unknown[] = Array.isArray(t?.certificates) ? t.certificates : [];
    for (const bytes of messages) {
      if (!(bytes instanceof Uint8Array)) {
        undecodable++;
        continue;
      }
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
    for (const certificate of certificates) {
      if (!(certificate instanceof Uint8Array)) {
        undecodable++;
        continue;
      }
      const check = protocol.verifyCommit(certificate, validators, scheme);
      if (!check.ok) continue;
      // The certificate's own signatures (checked by verifyCommit): the two branches' quorums meet here.
      for (const s of check.statements ?? []) {
        const e = detector.observe(s);
        if (e?.kind === 'equivocation') culprits.push(e);
      }
      const seen = byHeight.get(check.height);
      const block = { height: check.height, blockHash: check.blockHash, certificate, signers: signersIn(check) };
      certifiedStatements.set(block, check.statements ?? []);
      if (seen === undefined) byHeight.set(check.height, block);
      else if (fork === undefined && !bytesEqual(seen.blockHash, check.blockHash)) fork = { first: seen, second: block };
    }
  }
  culprits.sort((a, b) => a.offender - b.offender);
  let proof: ForkProof | undefined;
  if (fork !== undefined) {
    // First the certificates' own pairs (one statement in each, one slot, two blocks: the fork's
    // cause itself); then any validator that signed both certificates and equivocated in what the
    // transcripts hold (PBFT's two sides may commit one sequence in different views: no pair).
    const across = equivocationsAcross(certifiedStatements.get(fork.first)!, certifiedStatements.get(fork.second)!);
    const named = new Set(across.map((e) => e.offender));
    const signedBoth = culprits.filter((e) => !named.has(e.offender) && fork!.first.signers.includes(e.offender) && fork!.second.signers.includes(e.offender));
    const inFork = [...across, ...signedBoth].sort((x, y) => x.offender - y.offender);
    if (inFork.length >= validators.oneHonest) proof = { ...fork, culprits: inFork };
  }
  return { fork, culprits, proof, ignored: { undecodable, badSignatures } };
}

const slotOf = (s: SignedStatement) => `${s.signer}/${s.domain}/${s.view}/${s.sequence}`;

/** One equivocation per validator with a statement in `a` and one in `b` for one slot and two blocks, lowest validator first. */
function equivocationsAcross(a: readonly SignedStatement[], b: readonly SignedStatement[]): EquivocationEvidence[] {
  const inA = new Map<string, SignedStatement[]>();
  for (const s of a) {
    const list = inA.get(slotOf(s));
    if (list === undefined) inA.set(slotOf(s), [s]);
    else list.push(s);
  }
  const found = new Map<number, EquivocationEvidence>();
  for (const s of b) {
    if (found.has(s.signer)) continue;
    const other = inA.get(slotOf(s))?.find((t) => !bytesEqual(t.blockHash, s.blockHash));
    if (other !== undefined) found.set(s.signer, { kind: 'equivocation', offender: s.signer, first: other, second: s });
  }
  return [...found.values()].sort((x, y) => x.offender - y.offender);
}

function sameStatement(x: SignedStatement, y: SignedStatement): boolean {
  return x.signer === y.signer && x.domain === y.domain && x.view === y.view && x.sequence === y.sequence && bytesEqual(x.blockHash, y.blockHash) && bytesEqual(x.signature, y.signature);
}

/** A statement read field by field into plain values, once (what a caller passes may be any object). */
function plainStatement(s: unknown): SignedStatement {
  const o = s as Record<string, unknown>;
  const [domain, view, sequence, blockHash, signer, signature] = [o.domain, o.view, o.sequence, o.blockHash, o.signer, o.signature];
  if (typeof domain !== 'string' || typeof view !== 'number' || typeof sequence !== 'number' || typeof signer !== 'number') throw new TypeError('a statement needs domain, view, sequence and signer');
  if (!(blockHash instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new TypeError('a statement needs blockHash and signature bytes');
  return { domain: domain as SignedStatement['domain'], view, sequence, blockHash: Uint8Array.from(blockHash), signer, signature: Uint8Array.from(signature) };
}

function signersIn(check: { readonly statements?: readonly { readonly signer: number }[] }): number[] {
  return [...new Set((check.statements ?? []).map((s) => s.signer))].sort((a, b) => a - b);
}

export type ForkProofCheck = { readonly ok: true; readonly height: number; readonly convicted: readonly number[] } | { readonly ok: false; readonly reason: string };

/**
 * Checks a fork proof with the validator keys alone: two valid certificates for different blocks at
 * one height (the proof's heights, hashes and signers as the certificates say), and at least f+1
 * distinct validators each shown to equivocate (two statements of its own for one slot and two
 * blocks) and tied to the fork: the two statements are the certificates' own, one in each, or it
 * signed both certificates. Never throws: a malformed proof is refused.
 */
export function verifyForkProof<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SignatureScheme, proof: ForkProof): ForkProofCheck {
  try {
    return checkForkProof(protocol, validators, scheme, proof);
  } catch (e) {
    return { ok: false, reason: `malformed proof: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function checkForkProof<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SignatureScheme, proof: ForkProof): ForkProofCheck {
  if (protocol.verifyCommit === undefined) return { ok: false, reason: `${protocol.name} has no verifyCommit` };
  const claimed = [proof.first, proof.second];
  const checks = claimed.map((b) => (b?.certificate instanceof Uint8Array ? protocol.verifyCommit!(b.certificate, validators, scheme) : ({ ok: false, reason: 'no certificate bytes' } as const)));
  for (const [i, c] of checks.entries()) {
    if (!c.ok) return { ok: false, reason: `certificate ${i + 1} does not verify: ${c.reason}` };
  }
  const [a, b] = checks as [Extract<(typeof checks)[number], { ok: true }>, Extract<(typeof checks)[number], { ok: true }>];
  if (a.height !== b.height) return { ok: false, reason: `the certificates are for heights ${a.height} and ${b.height}, not one` };
  if (bytesEqual(a.blockHash, b.blockHash)) return { ok: false, reason: `both certificates certify block ${toHex(a.blockHash).slice(0, 12)}: no fork` };
  if (a.statements === undefined || b.statements === undefined) return { ok: false, reason: `${protocol.name}'s certificates do not say who signed them: culprits cannot be tied to the fork` };
  const signers = [signersIn(a), signersIn(b)];
  for (const [i, c] of [a, b].entries()) {
    const block = claimed[i]!;
    const signed = signers[i]!;
    if (block.height !== c.height || !(block.blockHash instanceof Uint8Array) || !bytesEqual(block.blockHash, c.blockHash) || !Array.isArray(block.signers) || block.signers.length !== signed.length || block.signers.some((v, j) => v !== signed[j])) {
      return { ok: false, reason: `the proof's height, block or signers for certificate ${i + 1} are not what the certificate holds` };
    }
  }
  if (!Array.isArray(proof.culprits)) return { ok: false, reason: 'no list of culprits' };
  const verifier = new StatementVerifier(validators, scheme);
  const convicted = new Set<number>();
  for (const given of proof.culprits as readonly unknown[]) {
    const g = given as Record<string, unknown>;
    const [kind, offender] = [g.kind, g.offender];
    // Only an equivocation convicts here (an unfair proposal, say, is not a fork's cause).
    if (kind !== 'equivocation' || typeof offender !== 'number') return { ok: false, reason: `a culprit's evidence is not an equivocation` };
    const e: EquivocationEvidence = { kind, offender, first: plainStatement(g.first), second: plainStatement(g.second) };
    if (!verifyEvidence(e, verifier)) return { ok: false, reason: `the evidence against validator ${offender} does not verify` };
    // Tied to the fork: its two statements are the certificates' own (one in each), or it signed
    // both certificates. Either way it signed two blocks for one slot, which no honest validator does.
    const inBoth = (x: SignedStatement, y: SignedStatement) => a.statements!.some((s) => sameStatement(s, x)) && b.statements!.some((s) => sameStatement(s, y));
    const signedBoth = signers[0]!.includes(offender) && signers[1]!.includes(offender);
    if (!inBoth(e.first, e.second) && !inBoth(e.second, e.first) && !signedBoth) return { ok: false, reason: `validator ${offender} signed one certificate only and its statements are not one in each: its equivocation is not this fork's` };
    convicted.add(offender);
  }
  if (convicted.size < validators.oneHonest) return { ok: false, reason: `${convicted.size} distinct culprits; a fork implies at least f+1 = ${validators.oneHonest}` };
  return { ok: true, height: a.height, convicted: [...convicted].sort((x, y) => x - y) };
}
