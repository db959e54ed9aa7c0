// @bftx/sim: deterministic discrete-event simulation of bftx protocols.
export { byzantine, STRATEGY_KINDS, type AdversarialOutput, type Coalition, type ReplicaLike, type Strategy } from './adversary';
export { asynchronous, fixedDelay, heldVotes, isolatedUntil, lossy, lossyUntil, networkFromJson, partialSynchrony, synchronous, withPartitions, type MessageTraits, type NetworkJson, type NetworkModel, type Partition } from './network';
export { EventQueue } from './queue';
export { Rng } from './rng';
export { distribution, simulate, startSimulation, type CertificateReport, type Distribution, type LatencyReport, type ReplicaReport, type Restart, type RunningSimulation, type SimulationConfig, type SimulationResult, type TraceRecord } from './simulation';
export { splitBrain, type SplitBrainOptions, type SplitBrainPlan } from './split-brain';
export { ORDERING_ATTACKS, orderingAttack, type AttackTrader, type OrderingAttackKind, type OrderingAttackOptions, type OrderingAttackStats } from './ordering-attacks';
