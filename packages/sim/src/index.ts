// @bftx/sim: A deterministic discrete-event simulator for bftx protocols: virtual clock, seeded randomness, network models, Byzantine adversaries, traces.
export {};
