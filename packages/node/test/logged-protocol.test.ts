// The input log's bounds, exactly: each message once per log, at most the cap between two safety
// states, then everything is logged afresh. (The cluster test floods a real replica; whether a
// safety state falls inside its flood depends on timing, so the cap itself is checked here.)
import type { Protocol, ProtocolDefinition, ProtocolInput } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { LoggedProtocol } from '../src/logged-protocol';
import { ReplicaMetrics } from '../src/metrics';

const definition = hotstuff() as ProtocolDefinition<any>;
const inner: Protocol<any> = { self: 0, step: () => [] };

function setup(cap: number) {
  const metrics = new ReplicaMetrics({ replica: 0, protocol: 'test' });
  const logged = new LoggedProtocol(inner, definition, metrics, cap);
  /** A message input whose wire bytes are `raw` (what the runtime records for a received message). */
  const message = (raw: Uint8Array): ProtocolInput<any> => {
    const input: ProtocolInput<any> = { type: 'message', from: 2, message: {}, now: 0 };
    logged.rawMessages.set(input, raw);
    return input;
  };
  const skipped = (reason: string) => metrics.value('bftx_log_skipped_total', { reason });
  return { logged, message, skipped };
}
const bytes = (i: number) => Uint8Array.of(i >> 8, i & 0xff, 7);

test('copies of one message are logged once; distinct ones up to the cap, the rest skipped and counted', async () => {
  const { logged, message, skipped } = setup(100);
  for (let i = 0; i < 1_000; i++) logged.step(message(bytes(0)));
  expect(logged.takeRecords()).toHaveLength(1);
  expect(await skipped('duplicate')).toBe(999);
  for (let i = 1; i <= 300; i++) logged.step(message(bytes(i)));
  expect(logged.takeRecords()).toHaveLength(99);
  expect(await skipped('log_full')).toBe(201);
  // Transactions are always logged (the mempool bounds them), and are not messages.
  logged.step({ type: 'transactions', txs: [Uint8Array.of(1)], now: 0 });
  expect(logged.takeRecords()).toHaveLength(1);
});

test('a safety state written (the log truncated) makes room again, also for a message logged before', async () => {
  const { logged, message, skipped } = setup(10);
  for (let i = 0; i < 20; i++) logged.step(message(bytes(i)));
  expect(logged.takeRecords()).toHaveLength(10);
  logged.logTruncated();
  for (let i = 0; i < 20; i++) logged.step(message(bytes(i)));
  expect(logged.takeRecords()).toHaveLength(10);
  expect(await skipped('log_full')).toBe(20);
  expect(await skipped('duplicate')).toBe(0);
});

test('starts and timers are never logged (a restart does not offer them again)', () => {
  const { logged } = setup(10);
  logged.step({ type: 'start', now: 0 });
  logged.step({ type: 'timer', timer: 'view', now: 5 });
  expect(logged.takeRecords()).toHaveLength(0);
});
