// The attestation pool alone (no sockets): what it checks, keeps and skips at a height.
import { ValidatorSet } from '@bftx/consensus';
import { signAttestation, verifyAttestations, type Attestation, type AttestedStatement } from '@bftx/exchange';
import { AttestationPool, ReplicaMetrics } from '../src/index';
import { keys, N, scheme, secrets } from './helpers';

const validators = new ValidatorSet(keys);
const statement = (height: number, fill = 1): AttestedStatement => ({ height, blockHash: new Uint8Array(32).fill(fill), stateRoot: new Uint8Array(32).fill(fill) });
const signed = (signer: number, s: AttestedStatement): Attestation => signAttestation(scheme.signer(secrets[signer]!), signer, s);
const forged = (signer: number, s: AttestedStatement): Attestation => ({ ...signed(signer, s), signature: new Uint8Array(64).fill(3) });

function pool() {
  const metrics = new ReplicaMetrics({ replica: 0, protocol: 'test' });
  const stored: Attestation[] = [];
  const p = new AttestationPool({ validators, scheme, metrics, persist: (records) => stored.push(...records.map((r) => r.attestation)) });
  const refused = (reason: string) => metrics.value('bftx_attestations_refused_total', { reason });
  return { p, stored, metrics, refused };
}

test(`once a quorum (${validators.quorum} of ${N}) match its own statement, a further matching attestation is skipped unchecked and not kept; a differing one is still checked and kept apart`, async () => {
  const { p, stored, refused, metrics } = pool();
  const s = statement(1);
  p.reached(s);
  p.own(signed(0, s));
  expect(p.accept(signed(1, s))).toEqual({ ok: true, conflict: false, held: false });
  expect(p.accept(signed(2, s))).toEqual({ ok: true, conflict: false, held: false });
  expect(p.count(1)).toBe(validators.quorum);
  // Not checked: a bad signature over the matching statement is skipped the same as a good one.
  expect(p.accept(forged(3, s))).toEqual({ ok: false, reason: 'surplus' });
  expect(p.accept(signed(3, s))).toEqual({ ok: false, reason: 'surplus' });
  expect(await refused('surplus')).toBe(2);
  expect(await refused('bad_signature')).toBe(0);
  expect(p.matching(1).map((a) => a.signer)).toEqual([0, 1, 2]);
  expect(stored.map((a) => a.signer)).toEqual([0, 1, 2]);
  expect(verifyAttestations(validators, scheme, s, p.matching(1), validators.quorum).ok).toBe(true);
  // Another root: checked (a forged one is refused), a signed one kept apart as a conflict.
  expect(p.accept(forged(3, statement(1, 9)))).toEqual({ ok: false, reason: 'bad_signature' });
  expect(p.accept(signed(3, statement(1, 9)))).toEqual({ ok: true, conflict: true, held: false });
  expect(p.conflicts(1).map((a) => a.signer)).toEqual([3]);
  expect(await metrics.value('bftx_attestation_conflicts_total')).toBe(1);
});

test('below a quorum every attestation is checked: a forged one is refused and leaves the slot open for the real one', async () => {
  const { p, refused } = pool();
  const s = statement(1);
  p.reached(s);
  p.own(signed(0, s));
  expect(p.accept(forged(1, s))).toEqual({ ok: false, reason: 'bad_signature' });
  expect(p.accept(signed(1, s))).toEqual({ ok: true, conflict: false, held: false });
  expect(await refused('bad_signature')).toBe(1);
  expect(await refused('surplus')).toBe(0);
});

test('attestations for a height not applied yet are checked and held (the statement is unknown); once applied, all matching ones are kept', () => {
  const { p } = pool();
  const s = statement(1);
  expect(p.accept(forged(1, s))).toEqual({ ok: false, reason: 'bad_signature' });
  for (const i of [1, 2, 3]) expect(p.accept(signed(i, s))).toEqual({ ok: true, conflict: false, held: true });
  p.reached(s);
  p.own(signed(0, s));
  expect(p.matching(1).map((a) => a.signer)).toEqual([0, 1, 2, 3]);
});
