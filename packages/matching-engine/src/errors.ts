/** Misuse of the engine's API itself (bad configuration, query for an unknown symbol, malformed snapshot). */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: 'INVALID_CONFIG' | 'UNKNOWN_SYMBOL' | 'INVALID_ARGUMENT' | 'INVALID_SNAPSHOT',
    message: string,
  ) {
    super(message);
  }
}
