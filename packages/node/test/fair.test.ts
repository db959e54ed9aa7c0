// Fair ordering (issue 18) on four real replicas in this process, on loopback TCP, with a market
// that clears each block as one uniform-price batch: orders finalize, every replica agrees block by
// block and root by root, each block's payload is its signed receive logs and then a prefix of
// their fair order, a restarted replica replays its log through the wrapper and catches up, and a
// leader that reorders is convicted with evidence that is stored and served.
import { checkProof, payloadTransactions, provableDeviation, splitPayload, StatementVerifier, ValidatorSet, verifyEvidence, type OrderingAdversary, type ProtocolDefinition, type SplitPayload } from '@bftx/consensus';
import { fromHex, toHex } from '@bftx/crypto';
import type { ExchangeConfig } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { ClientApi, encodeInputRecord, ReplicaNode, ReplicaStore } from '../src/index';
import { clients, cluster, exchange, keys, N, orders, removeDataDirs, scheme, until } from './helpers';

afterAll(removeDataDirs);

const batch: ExchangeConfig = { ...exchange, markets: exchange.markets.map((m) => ({ ...m, matching: 'batch' as const })) };
const validators = new ValidatorSet(keys);
const f = validators.f;
const txCount = (n: ReplicaNode<any>) => n.ledger.chain.reduce((a, b) => a + payloadTransactions(b.payload).length, 0);
const holding = (n: ReplicaNode<any>, client: number, asset: string) => n.exchange.exchange.holding(toHex(clients[client]!.publicKey), asset);

/** Every height all replicas hold: one block id, one state root; each block's payload is n-f valid logs and then transactions no honest voter could refuse. */
function agreeAndFair(nodes: readonly ReplicaNode<any>[]): { blocksWithTxs: number } {
  const height = Math.min(...nodes.map((n) => n.ledger.height));
  let blocksWithTxs = 0;
  for (let h = 1; h <= height; h++) {
    expect(new Set(nodes.map((n) => n.ledger.at(h)!.id)).size).toBe(1);
    expect(new Set(nodes.map((n) => n.exchange.stateRoots[h - 1])).size).toBe(1);
    const payload = nodes[0]!.ledger.at(h)!.payload;
    if (payload.length === 0) continue;
    const split = splitPayload(payload);
    if (typeof split === 'string') throw new Error(`block ${h}: ${split}`);
    expect(split.txs.length).toBeGreaterThan(0); // logs are never proposed alone
    expect(split.logs.length).toBeGreaterThanOrEqual(N - f);
    expect(checkProof(split.logs, validators, scheme)).toBeUndefined();
    expect(provableDeviation(split.logs, split.txs, f)).toBeUndefined();
    blocksWithTxs++;
  }
  return { blocksWithTxs };
}

describe.each([
  ['hotstuff', hotstuff()],
  ['streamlet', streamlet()],
  ['pbft', pbft()],
] as const)('%s, fair ordering and a batch market: four replicas over TCP', (name, protocol) => {
  test('orders finalize in blocks led by receive logs, the batch market trades them, every replica agrees', async () => {
    const nodes = await cluster(protocol as ProtocolDefinition<any>, { ordering: 'fair', exchange: batch });
    const api = new ClientApi(nodes[1]!, { host: '127.0.0.1', port: 0 });
    await api.start();
    try {
      await until('every replica connected to every peer', () => nodes.every((n) => n.connectedPeers().length === N - 1));
      // Client 0 bids and client 1 offers 20 lots each at 100; every replica receives every order.
      const txs = orders(40);
      for (const n of nodes) n.submit(txs);
      await until(() => `40 orders finalized everywhere (transactions ${nodes.map(txCount)}, heights ${nodes.map((n) => n.ledger.height)})`, () => nodes.every((n) => txCount(n) >= 40));
      const { blocksWithTxs } = agreeAndFair(nodes);
      expect(blocksWithTxs).toBeGreaterThan(0);
      for (const n of nodes) {
        // Executed once each, and crossed: the batch cleared them at 100.
        expect(holding(n, 0, 'SHARE')).toBe(1_020n);
        expect(holding(n, 1, 'SHARE')).toBe(980n);
        expect(n.ordering).toBe('fair');
        expect(n.failure).toBeUndefined();
        expect(n.evidence).toEqual([]);
        // The metric counts transactions, not the logs in front of them.
        await until('the transaction counter', async () => (await n.metrics.value('bftx_finalized_transactions_total')) >= 40);
        expect(await n.metrics.value('bftx_finalized_transactions_total')).toBe(40);
      }
      // The API names the logs apart from the transactions, and the receipts line up with the transactions.
      const h = nodes[1]!.ledger.chain.find((b) => b.payload.length > 0)!.height;
      const res = (await (await fetch(`http://127.0.0.1:${api.port}/v1/blocks/${h}`)).json()) as { transactions: string[]; receiveLogs: Array<{ signer: number; entries: number }> };
      const split = splitPayload(nodes[1]!.ledger.at(h)!.payload) as SplitPayload;
      expect(res.transactions).toEqual(split.txs.map(toHex));
      expect(res.receiveLogs.length).toBe(split.logs.length);
      expect(new Set(res.receiveLogs.map((l) => l.signer)).size).toBe(split.logs.length);
      const status = (await (await fetch(`http://127.0.0.1:${api.port}/v1/status`)).json()) as { ordering: string };
      expect(status.ordering).toBe('fair');
      // Orders that reach one replica only are never ordered (no f+1 logs name them): dropped after 16 delta, counted, not executed.
      expect(await nodes[0]!.metrics.value('bftx_fair_ordering_evicted_total')).toBe(0);
      nodes[0]!.submit(orders(4, 40));
      await until('the unbacked orders dropped', async () => (await nodes[0]!.metrics.value('bftx_fair_ordering_evicted_total')) === 4);
      expect(await nodes[0]!.metrics.value('bftx_fair_ordering_held_transactions')).toBe(0);
      expect(nodes.map(txCount)).toEqual(nodes.map(() => 40));
    } finally {
      await api.stop();
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 30_000);

  if (name === 'hotstuff') {
    test('a replica stopped and restarted replays its input log through the fair wrapper, catches up and takes part again', async () => {
      // The bare protocol's instances, watched: which peer messages each one is given (what the input log records and replays).
      const bare = protocol as ProtocolDefinition<any>;
      const given: Array<{ self: number; from: number; bytes: string }> = [];
      const watched: ProtocolDefinition<any> = {
        ...bare,
        create(config) {
          const inner = bare.create(config);
          return {
            self: inner.self,
            step(input) {
              if (input.type === 'message') given.push({ self: config.self, from: input.from, bytes: toHex(bare.encodeMessage(input.message)) });
              return inner.step(input);
            },
          };
        },
      };
      const nodes = await cluster(watched, { ordering: 'fair', exchange: batch });
      try {
        await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
        for (const n of nodes) n.submit(orders(20));
        await until('20 orders finalized', () => nodes.every((n) => txCount(n) >= 20));
        const victim = 2;
        await nodes[victim]!.idle();
        const before = nodes[victim]!;
        await before.stop();
        // Its log holds, whatever else, one message from replica 1 (one replica 1 sent, as the victim's protocol got it).
        const message = given.find((g) => g.self === victim && g.from === 1)!;
        const store = await ReplicaStore.open(before.options.dataDir);
        await store.write({ inputs: [encodeInputRecord(bare, { type: 'message', from: 1, message: bare.decodeMessage(fromHex(message.bytes)), now: 1 })], blocks: [], sync: true });
        const logged = store.loggedInputs;
        await store.close();
        // Restarted alone (no peer can reach it, it reaches none): what its protocol is given now is the replay.
        given.length = 0;
        const alone = new ReplicaNode({ ...before.options, listen: { host: '127.0.0.1', port: 0 }, peers: new Array(N).fill(undefined) });
        await alone.start();
        await alone.idle();
        await alone.stop();
        expect(alone.recovery!.replayedInputs).toBe(logged);
        // The logged message went through the fair wrapper to the protocol, as it came.
        expect(given.filter((g) => g.self === victim && g.from === 1).map((g) => g.bytes)).toContain(message.bytes);
        const others = nodes.filter((_, i) => i !== victim);
        for (const n of others) n.submit(orders(20, 20));
        await until('20 more orders finalized without it', () => others.every((n) => txCount(n) >= 40));
        const restarted = new ReplicaNode({ ...before.options, listen: { host: '127.0.0.1', port: before.port } });
        nodes[victim] = restarted;
        await restarted.start();
        const target = Math.max(...others.map((n) => n.ledger.height));
        await until(() => `the restarted replica catching up to ${target} (at ${restarted.ledger.height})`, () => restarted.ledger.height >= target);
        for (const n of nodes) n.submit(orders(10, 40));
        await until('10 more orders finalized everywhere', () => nodes.every((n) => txCount(n) >= 50));
        agreeAndFair(nodes);
        for (const n of nodes) {
          expect(holding(n, 0, 'SHARE')).toBe(1_025n);
          expect(n.failure).toBeUndefined();
        }
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    }, 30_000);

    test('a leader that reorders its block is refused and convicted: unfair-proposal evidence stored, served, verifiable, and still there after a restart', async () => {
      // Replica 3 proposes the fair order reversed; the honest replicas check the order before voting.
      const reverse: OrderingAdversary = { build: (honest) => [...honest].reverse() };
      const nodes = await cluster(protocol as ProtocolDefinition<any>, { ordering: 'fair', exchange: batch, fairOrdering: { adversary: (self) => (self === 3 ? reverse : undefined) } });
      const api = new ClientApi(nodes[0]!, { host: '127.0.0.1', port: 0 });
      await api.start();
      try {
        await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
        // Waves of orders until replica 3 has led a block with two or more of them.
        let sent = 0;
        await until(
          () => `evidence against replica 3 (heights ${nodes.map((n) => n.ledger.height)})`,
          () => {
            if (nodes[0]!.evidence.length > 0) return true;
            if (sent < 400 && nodes.every((n) => txCount(n) >= sent)) {
              for (const n of nodes) n.submit(orders(8, sent));
              sent += 8;
            }
            return false;
          },
        );
        const e = nodes[0]!.evidence[0]!;
        expect(e).toMatchObject({ kind: 'unfair-proposal', offender: 3 });
        expect(verifyEvidence(e, new StatementVerifier(validators, scheme))).toBe(true);
        await until('the evidence counted', async () => (await nodes[0]!.metrics.value('bftx_evidence_total', { offender: '3', kind: 'unfair-proposal' })) === 1);
        const served = (await (await fetch(`http://127.0.0.1:${api.port}/v1/evidence`)).json()) as { evidence: Array<Record<string, any>> };
        expect(served.evidence).toHaveLength(1);
        expect(served.evidence[0]).toMatchObject({ kind: 'unfair-proposal', offender: 3, statement: { signer: 3 }, header: { proposer: 3 } });
        expect(served.evidence[0]!.transactions).toBeGreaterThanOrEqual(2);
        expect(served.evidence[0]!.receiveLogs).toBeGreaterThanOrEqual(N - f);
        // The honest replicas never finalized a reordered block.
        agreeAndFair(nodes.slice(0, 3));
        // Stored: a restart reads it back.
        const victim = nodes[0]!;
        await api.stop();
        await victim.stop();
        const store = await ReplicaStore.open(victim.options.dataDir);
        const stored = await store.evidence();
        await store.close();
        expect(stored.map((x) => [x.offender, x.kind])).toEqual([[3, 'unfair-proposal']]);
        expect(verifyEvidence(stored[0]!, new StatementVerifier(validators, scheme))).toBe(true);
        const again = new ReplicaNode({ ...victim.options, listen: { host: '127.0.0.1', port: 0 } });
        nodes[0] = again;
        await again.start();
        expect(again.evidence.map((x) => [x.offender, x.kind])).toEqual([[3, 'unfair-proposal']]);
      } finally {
        await api.stop().catch(() => undefined);
        await Promise.all(nodes.map((n) => n.stop()));
      }
    }, 30_000);
  }
});
