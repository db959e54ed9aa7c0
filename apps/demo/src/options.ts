// Command-line values: parsed and checked here, so a scenario only ever sees valid settings.
import type { ProtocolDefinition } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import type { Strategy } from '@bftx/sim';
import { streamlet } from '@bftx/streamlet';
import { InvalidArgumentError } from 'commander';

/** A bad combination of options (each one alone was fine): the CLI prints it and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const PROTOCOLS = {
  streamlet: () => streamlet() as ProtocolDefinition<unknown>,
  hotstuff: () => hotstuff() as ProtocolDefinition<unknown>,
  pbft: () => pbft() as ProtocolDefinition<unknown>,
} as const;
export type ProtocolName = keyof typeof PROTOCOLS;
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as ProtocolName[];

export function parseProtocol(value: string): ProtocolName {
  if (!(value in PROTOCOLS)) throw new InvalidArgumentError(`expected one of ${PROTOCOL_NAMES.join(', ')}.`);
  return value as ProtocolName;
}

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** "4,7,10": replica counts for `compare`. */
export function parseNodeList(value: string): number[] {
  const one = integerIn(1, 64);
  const list = value.split(',').map((s) => one(s.trim()));
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('each replica count once.');
  return list.sort((a, b) => a - b);
}

export const STRATEGY_HELP = 'crash[=ms], silent, equivocate, double-vote, vote-twice, withhold-votes, invalid-signatures, forged-parent, fork, delay[=ms]; or a number N: N colluding replicas (equivocating leaders up to f; beyond f, the split-brain attack)';

/** "equivocate,crash=500": one strategy per Byzantine replica. Times default to the middle of the run (crash) and 2 delta (delay). */
export function parseStrategies(value: string): StrategySpec[] {
  if (value.trim() === '' || value.trim() === 'none') return [];
  // A number: that many colluding replicas (equivocators within f, a split-brain coalition beyond).
  if (/^\d+$/.test(value.trim())) {
    const count = Number(value.trim());
    if (count < 1 || count > 64) throw new InvalidArgumentError(`"${value}": from 1 to 64 colluding replicas.`);
    return Array.from({ length: count }, () => ({ kind: 'collude' as const }));
  }
  return value.split(',').map((raw) => {
    const [kind, arg, extra] = raw.trim().split('=');
    const ms = arg === undefined ? undefined : Number(arg);
    if (extra !== undefined || (arg !== undefined && !(/^\d+$/.test(arg) && Number.isSafeInteger(ms)))) throw new InvalidArgumentError(`"${raw}": a strategy takes at most one whole number of ms (e.g. crash=500).`);
    switch (kind) {
      case 'crash':
      case 'delay':
        return { kind, ms };
      case 'silent':
      case 'equivocate':
      case 'double-vote':
      case 'vote-twice':
      case 'withhold-votes':
      case 'invalid-signatures':
      case 'forged-parent':
      case 'fork':
        if (ms !== undefined) throw new InvalidArgumentError(`"${raw}": ${kind} takes no argument.`);
        return { kind };
      default:
        throw new InvalidArgumentError(`unknown strategy "${kind}"; expected ${STRATEGY_HELP}.`);
    }
  });
}

/** 'collude': one of `--byzantine N`'s colluding replicas (see byzantineAssignment). */
export type StrategySpec = { readonly kind: Exclude<Strategy['kind'], 'crash' | 'delay'> | 'collude' } | { readonly kind: 'crash' | 'delay'; readonly ms: number | undefined };

export function toStrategy(spec: StrategySpec, duration: number, delta: number): Strategy {
  if (spec.kind === 'crash') return { kind: 'crash', at: spec.ms ?? Math.floor(duration / 2) };
  if (spec.kind === 'delay') return { kind: 'delay', by: spec.ms ?? 2 * delta };
  // Within f, a colluding replica equivocates when it leads (the default strategy).
  if (spec.kind === 'collude') return { kind: 'equivocate' };
  return { kind: spec.kind };
}

/** `--byzantine N` beyond f: the coalition (the N highest-numbered replicas) that runs the split-brain attack; undefined otherwise. */
export function splitBrainCoalition(specs: readonly StrategySpec[], n: number): number[] | undefined {
  const f = Math.floor((n - 1) / 3);
  if (specs.length <= f || !specs.every((s) => s.kind === 'collude')) return undefined;
  if (specs.length > n - 2) throw new UsageError(`${specs.length} colluding replicas of ${n}: a split brain needs two honest replicas to split (at most ${n - 2}).`);
  return Array.from({ length: specs.length }, (_, k) => n - 1 - k).sort((a, b) => a - b);
}

/**
 * Byzantine replicas take the highest indexes. Named strategies: at most f = floor((n - 1) / 3),
 * where every BFT protocol promises safety; beyond it, `--byzantine N` runs the split-brain attack.
 */
export function byzantineAssignment(specs: readonly StrategySpec[], n: number, duration: number, delta: number): Array<{ replica: number; strategy: Strategy }> {
  const f = Math.floor((n - 1) / 3);
  if (specs.length > f) throw new UsageError(`${specs.length} Byzantine replica(s) among ${n}: safety is promised only for at most f = ${f} (f < n/3). Use more --nodes or fewer strategies, or \`npm run demo -- byzantine -n ${n} --byzantine ${specs.length}\` to watch ${specs.length} colluding replicas try a split brain beyond f.`);
  return specs.map((s, k) => ({ replica: n - 1 - k, strategy: toStrategy(s, duration, delta) }));
}

/** "200-400": a window of virtual ms. */
export function parseWindow(value: string): { from: number; to: number } {
  const m = /^(\d+)-(\d+)$/.exec(value.trim());
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2]) : NaN;
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from < to)) throw new InvalidArgumentError('expected FROM-TO in virtual ms, FROM < TO (e.g. 200-400).');
  return { from, to };
}
