// @bftx/sim: deterministic discrete-event simulation of bftx protocols.
export { byzantine, STRATEGY_KINDS, type AdversarialOutput, type Coalition, type ReplicaLike, type Strategy } from './adversary';
export { asynchronous, lossy, partialSynchrony, synchronous, withPartitions, type NetworkModel, type Partition } from './network';
export { EventQueue } from './queue';
export { Rng } from './rng';
export { simulate, type ReplicaReport, type SimulationConfig, type SimulationResult, type TraceRecord } from './simulation';
