// @bftx/conformance: the suite every bftx consensus protocol must pass, typed against @bftx/sim.
export * from './classes';
export * from './suite';
export * from './fair-ordering';
export * from './certificates';
export * from './forensics';
