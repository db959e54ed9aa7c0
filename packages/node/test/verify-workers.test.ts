// Four replicas with a verify worker each: client orders posted to every replica's API (as the
// load generator does) and the peers' votes are checked on the workers, and nothing the workers
// checked is checked again on a replica's event loop (admission, execution, the door, the protocol).
import type { ProtocolDefinition } from '@bftx/consensus';
import { createSignatureScheme, toHex, type SignatureScheme } from '@bftx/crypto';
import { hotstuff } from '@bftx/hotstuff';
import { ClientApi, type ReplicaNode, type VerifyJob } from '../src/index';
import { cluster, N, orders, removeDataDirs, until } from './helpers';

afterAll(removeDataDirs);

/** The node backend, recording each signature it is asked to check on the event loop. */
function recording(): SignatureScheme & { readonly asked: string[]; readonly made: Set<string> } {
  const base = createSignatureScheme('node');
  const asked: string[] = [];
  // Every signature this replica makes (its votes, proposals, attestations).
  const made = new Set<string>();
  const signer: SignatureScheme['signer'] = (sk) => {
    const inner = base.signer(sk);
    return { publicKey: inner.publicKey, sign: (domain, payload) => {
      const signature = inner.sign(domain, payload);
      made.add(toHex(signature));
      return signature;
    } };
  };
  return { ...base, asked, made, signer, verify: (publicKey, domain, payload, signature) => (asked.push(toHex(signature)), base.verify(publicKey, domain, payload, signature)) };
}

test.each([
  ['posted to every replica (each admits them)', 'all'],
  ['posted to one replica (the others check them in its proposals, at the door)', 'one'],
] as const)('orders %s and votes are checked on the workers, once: the event loop never checks a signature a worker checked', async (_what, where) => {
  const schemes = Array.from({ length: N }, () => recording());
  let nodes: ReplicaNode<any>[] = [];
  const apis: ClientApi[] = [];
  try {
    // One scheme object per replica for consensus and clients alike, so the door shares the pool.
    nodes = await cluster(hotstuff() as ProtocolDefinition<any>, { verifyWorkers: 1 }, (self) => ({ scheme: schemes[self]!, clientScheme: schemes[self]! }));
    // Every job each pool sends to its worker.
    const checked = nodes.map(() => new Set<string>());
    nodes.forEach((n, i) => {
      const pool = n.verifier!;
      const check = pool.check.bind(pool);
      pool.check = (jobs: readonly VerifyJob[]) => {
        for (const j of jobs) checked[i]!.add(toHex(j.signature));
        return check(jobs);
      };
    });
    await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1), 30_000);
    for (const n of nodes) {
      const api = new ClientApi(n, { host: '127.0.0.1', port: 0 });
      await api.start();
      apis.push(api);
    }
    const txs = orders(60);
    for (let k = 0; k < txs.length; k += 20) {
      const body = JSON.stringify({ transactions: txs.slice(k, k + 20).map(toHex) });
      const answers = await Promise.all((where === 'all' ? apis : apis.slice(0, 1)).map((a) => fetch(`http://127.0.0.1:${a.port}/v1/transactions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })));
      // Accepted by the first replica to see them; the others may find some final already.
      expect(answers.map((r) => r.status)).toContain(202);
    }
    await until('60 orders final everywhere', () => nodes.every((n) => n.ledger.chain.reduce((a, b) => a + b.payload.length, 0) >= 60), 30_000);
    const height = Math.min(...nodes.map((n) => n.exchange.stateRoots.length));
    expect(new Set(nodes.map((n) => n.exchange.stateRoots[height - 1])).size).toBe(1);
    for (let i = 0; i < N; i++) {
      const orderSigs = new Set(txs.map((tx) => toHex(tx.subarray(tx.length - 64))));
      const inWorkers = [...checked[i]!];
      // Every order, and votes of the peers, went to the worker...
      expect(inWorkers.filter((s) => orderSigs.has(s)).length).toBe(60);
      expect(inWorkers.length).toBeGreaterThan(60);
      // ...and none of them was checked again on the event loop.
      const twice = schemes[i]!.asked.filter((s) => checked[i]!.has(s));
      expect(twice).toEqual([]);
      expect(nodes[i]!.verifier!.counts.remembered).toBeGreaterThanOrEqual(60);
      // Nor is any signature this replica made itself (a leader counts its own vote; its own
      // attestation joins its pool): remembered as valid when signed.
      expect(schemes[i]!.made.size).toBeGreaterThan(0);
      expect(schemes[i]!.asked.filter((s) => schemes[i]!.made.has(s))).toEqual([]);
    }
    // A forged order is refused by its worker's verdict.
    const forged = txs[0]!.slice();
    forged[forged.length - 1]! ^= 1;
    const refused = await fetch(`http://127.0.0.1:${apis[2]!.port}/v1/transactions`, { method: 'POST', body: JSON.stringify({ transactions: [toHex(forged)] }), headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('BAD_SIGNATURE');
  } finally {
    await Promise.all(apis.map((a) => a.stop()));
    await Promise.all(nodes.map((n) => n.stop()));
  }
}, 90_000);
