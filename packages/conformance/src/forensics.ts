// Beyond f (issue 22): a split-brain coalition of more than f validators forks the chain exactly
// when the lower bound says it can, and forensics convicts at least f+1 of them, never an honest
// validator, from what honest replicas received: one transcript from each side, not one alone.
import { investigate, verifyForkProof, type ProtocolDefinition, type ValidatorSet } from '@bftx/consensus';
import * as sim from '@bftx/sim';
import fc from 'fast-check';

/** A split-brain scenario: n validators, a coalition of f+1 to n-2 of them, a split of the honest ones. */
export interface SplitBrainScenario {
  readonly n: number;
  readonly coalition: readonly number[];
  readonly sides: readonly boolean[];
  readonly seed: number;
}

const quorumOf = (n: number) => Math.ceil((2 * n) / 3);
const fOf = (n: number) => Math.floor((n - 1) / 3);

export function splitBrainScenarioArb(): fc.Arbitrary<SplitBrainScenario> {
  return fc
    .integer({ min: 4, max: 10 })
    .chain((n) =>
      fc
        // Every coalition size from f+1 (beyond the bound) to n-2 (two honest groups).
        .integer({ min: fOf(n) + 1, max: n - 2 })
        .chain((c) => fc.record({ n: fc.constant(n), coalition: fc.shuffledSubarray(Array.from({ length: n }, (_, v) => v), { minLength: c, maxLength: c }), sides: fc.array(fc.boolean(), { minLength: n - c, maxLength: n - c }), seed: fc.nat() })),
    )
    .filter((s) => s.sides.some((x) => x) && s.sides.some((x) => !x));
}

/**
 * The fork, when and only when both worlds hold a quorum (honest in it + coalition >= ceil(2n/3):
 * a coalition of at least 2 * quorum - n, f+1 when n = 3f+1); then a proof that verifies with the
 * keys alone and convicts at least f+1, all of them in the coalition; one transcript never
 * suffices here (it holds one side's certificates only), one from each side always does.
 */
export function splitBrainProperty<M>(protocol: ProtocolDefinition<M>) {
  return fc.property(splitBrainScenarioArb(), (s) => {
    const where = `\nscenario: ${JSON.stringify(s)}`;
    const plan = sim.splitBrain({ protocol, n: s.n, coalition: s.coalition, sides: s.sides, seed: s.seed });
    const outcome = sim.simulate(plan.config);
    const { validators, scheme } = outcome.keys;
    const q = quorumOf(s.n);
    const forks = plan.honest.every((side) => side.length + s.coalition.length >= q);
    const honestLedgers = outcome.replicas.filter((r) => r.honest);
    if (forks !== (outcome.safetyViolation !== undefined)) throw new Error(`${forks ? 'no fork though both sides hold a quorum' : `a fork though one side has no quorum: ${outcome.safetyViolation}`} (finalized: ${honestLedgers.map((r) => r.finalized).join('/')})${where}`);
    if (forks && !outcome.coalition.expectedFork) throw new Error(`a fork the run did not report as expected: ${JSON.stringify(outcome.coalition)}${where}`);
    const transcripts = outcome.replicas.flatMap((r) => (r.transcript === undefined ? [] : [r.transcript]));
    const convictsOnlyCoalition = (report: ReturnType<typeof investigate>, what: string) => {
      const wrong = report.culprits.filter((e) => !s.coalition.includes(e.offender));
      if (wrong.length > 0) throw new Error(`${what}: honest validator(s) ${wrong.map((e) => e.offender).join(', ')} convicted${where}`);
    };
    const all = investigate(protocol, validators, scheme, transcripts);
    convictsOnlyCoalition(all, 'every transcript');
    if (!forks) {
      if (all.fork !== undefined) throw new Error(`forensics found a fork that did not happen${where}`);
      return;
    }
    check(protocol, validators, scheme, all, s.coalition, `every transcript${where}`);
    // Two transcripts, one from each side: enough.
    const fromSide = (side: readonly number[]) => transcripts.find((t) => side.includes(t.replica))!;
    const pair = investigate(protocol, validators, scheme, [fromSide(plan.honest[0]), fromSide(plan.honest[1])]);
    convictsOnlyCoalition(pair, 'one transcript from each side');
    check(protocol, validators, scheme, pair, s.coalition, `one transcript from each side${where}`);
    // One alone: no proof. By what a transcript holds (the certificates its replica output; an
    // honest replica never outputs two that conflict), it shows one branch.
    for (const t of transcripts) {
      const one = investigate(protocol, validators, scheme, [t]);
      convictsOnlyCoalition(one, `replica ${t.replica}'s transcript alone`);
      if (one.proof !== undefined) throw new Error(`replica ${t.replica}'s transcript alone made a fork proof: the claim that one is not enough is wrong${where}`);
    }
  });
}

function check<M>(protocol: ProtocolDefinition<M>, validators: ValidatorSet, scheme: Parameters<typeof verifyForkProof>[2], report: ReturnType<typeof investigate>, coalition: readonly number[], where: string): void {
  if (report.proof === undefined) throw new Error(`no fork proof (fork ${report.fork !== undefined}, ${report.culprits.length} culprits: ${report.culprits.map((e) => e.offender).join(',')}) from ${where}`);
  const verdict = verifyForkProof(protocol, validators, scheme, report.proof);
  if (!verdict.ok) throw new Error(`the fork proof does not verify: ${verdict.reason}; from ${where}`);
  if (verdict.convicted.length < validators.oneHonest || verdict.convicted.some((v) => !coalition.includes(v))) throw new Error(`convicted ${verdict.convicted.join(',')} of coalition ${coalition.join(',')}; from ${where}`);
}
