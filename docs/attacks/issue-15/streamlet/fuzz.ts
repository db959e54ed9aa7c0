// Randomized search: own runtime + own Byzantine replicas + adversarial scheduler + crash/restarts.
// usage: node --conditions=@bftx/source --import tsx fuzz.ts [runs] [firstSeed] [only-this-seed?]
import fc from 'fast-check';
import { World, mulberry32, def, type Replica } from './rt';
import { streamletLeader, type StreamletMessage } from '@bftx/streamlet';
import { signStatement, makeBlock, adversaryBlocks, GENESIS, type Block, type ProtocolOutput } from '@bftx/consensus';
import { Domains, toHex, utf8 } from '@bftx/crypto';

export interface Params {
  seed: number;
  n: number;
  nByz: number;
  delta: number;
  gstView: number;
  drop: number;
  dup: number;
  preDelay: 'uniform' | 'zero' | 'delta' | 'long' | 'mixed';
  postDelay: 'uniform' | 'zero' | 'delta' | 'zero-or-delta';
  ties: 'random' | 'timers-first' | 'msgs-first';
  crashes: number; // crash events before GST
  crashMode: 'single' | 'several' | 'quorum' | 'all';
  midStep: number; // probability a crash is mid-step
  byzEquivocate: boolean;
  byzDoubleVote: boolean;
  byzVoteAll: boolean;
  byzForkShort: boolean;
  byzWithhold: number;
  byzBadAnswers: boolean;
  byzReplay: boolean;
  byzFlood: number;
  byzFabricate: boolean;
  honestLeadersAfterGst: boolean;
  wire: boolean;
  postViews: number;
}

export function runOne(p: Params, verbose = false) {
  const rng = mulberry32(p.seed ^ 0x9e3779b9);
  const n = p.n;
  const byz: number[] = [];
  while (byz.length < p.nByz) { const b = Math.floor(rng() * n); if (!byz.includes(b)) byz.push(b); }
  const delta = p.delta;
  const L = 2 * delta + 1;
  const gst = p.gstView * L + Math.floor(rng() * L);
  const end = gst + p.postViews * L;
  const honestIdx = Array.from({ length: n }, (_, i) => i).filter((i) => !byz.includes(i));
  let leaderSchedule: number[] | undefined;
  if (p.honestLeadersAfterGst) {
    leaderSchedule = [];
    const maxE = Math.ceil(end / L) + 20;
    let k = 0;
    for (let e = 0; e <= maxE; e++) leaderSchedule.push(e * L >= gst - L ? honestIdx[k++ % honestIdx.length]! : streamletLeader(e, n));
  }
  const w: World = new World({
    n, byz, delta, gst, seed: p.seed, ties: p.ties, leaderSchedule, wire: p.wire,
    delay: (w, from, to, m, now) => {
      if (now < gst) {
        if (rng() < p.drop) return undefined;
        const one = () => {
          switch (p.preDelay) {
            case 'zero': return 0;
            case 'delta': return delta;
            case 'uniform': return Math.floor(rng() * (delta + 1));
            case 'long': return Math.floor(rng() * 6 * L);
            case 'mixed': { const x = rng(); return x < 0.3 ? 0 : x < 0.6 ? delta : x < 0.9 ? Math.floor(rng() * (delta + 1)) : Math.floor(rng() * 4 * L); }
          }
        };
        const clamp = (d: number) => Math.min(d, gst + delta - now);
        if (rng() < p.dup) return [clamp(one()), clamp(one())];
        return clamp(one());
      }
      let d: number;
      switch (p.postDelay) {
        case 'zero': d = 0; break;
        case 'delta': d = delta; break;
        case 'uniform': d = Math.floor(rng() * (delta + 1)); break;
        case 'zero-or-delta': d = rng() < 0.5 ? 0 : delta; break;
      }
      if (rng() < p.dup) return [d, Math.floor(rng() * (delta + 1))];
      return d;
    },
  });

  // ---- global adversary knowledge ----
  const bodies = new Map<string, Block>();
  bodies.set(GENESIS.id, GENESIS);
  const tally = new Map<string, Set<number>>();
  const notarized = new Set<string>([GENESIS.id]);
  const quorum = w.validators.quorum;
  const observe = (m: StreamletMessage) => {
    if (m.type === 'proposal') bodies.set(m.block.id, m.block);
    else if (m.type === 'block') { bodies.set(m.block.id, m.block); for (const a of m.ancestors) bodies.set(a.id, a); }
    const vs = m.type === 'vote' ? [m.vote] : m.type === 'notarization' || m.type === 'block' ? m.votes : [];
    for (const v of vs) {
      const id = toHex(v.blockHash);
      let s = tally.get(id);
      if (!s) tally.set(id, (s = new Set()));
      s.add(v.signer);
      if (s.size >= quorum) notarized.add(id);
    }
  };
  const origSend = w.send.bind(w);
  w.send = (from, to, m, extra) => { observe(m); origSend(from, to, m, extra); };
  const notarizedBodies = () => [...notarized].map((id) => bodies.get(id)).filter((b): b is Block => b !== undefined);

  // ---- Byzantine replicas ----
  const ownMsgs: StreamletMessage[] = [];
  for (const b of byz) {
    const r = w.reps[b]!;
    const signer = w.signers[b]!;
    const prop = (block: Block): StreamletMessage => ({ type: 'proposal', block, signature: signStatement(signer, b, Domains.proposal, { view: block.view, sequence: 0, blockHash: block.hash }).signature });
    const vote = (view: number, hash: Uint8Array): StreamletMessage => ({ type: 'vote', vote: signStatement(signer, b, Domains.vote, { view, sequence: 0, blockHash: hash }) });
    const others = () => Array.from({ length: n }, (_, i) => i).filter((i) => i !== b);
    const voted = new Set<string>();
    r.byzOut = (o: ProtocolOutput<StreamletMessage>, now: number) => {
      if (o.type === 'set-timer' || o.type === 'cancel-timer' || o.type === 'persist' || o.type === 'trace' || o.type === 'commit' || o.type === 'evidence') return w.carryPlain(r, o);
      const m = o.message;
      if (ownMsgs.length < 2000 && (m.type === 'proposal' || m.type === 'vote')) ownMsgs.push(m);
      const targets = o.type === 'send' ? [o.to] : others();
      for (const to of targets) {
        if (rng() < p.byzWithhold) continue;
        let out: StreamletMessage = m;
        if (m.type === 'proposal' && m.block.proposer === b) {
          if (p.byzEquivocate && rng() < 0.5) out = def.byzantine!.conflicting(m, signer, b)!;
          if (p.byzForkShort && rng() < 0.5) {
            const nb = notarizedBodies();
            const parent = nb[Math.floor(rng() * nb.length)]!;
            out = prop(makeBlock({ parent: parent.hash, height: parent.height + 1, view: m.block.view, proposer: b, payload: [utf8(`fork-${to}-${rng()}`)] }));
          }
        } else if (m.type === 'vote' && m.vote.signer === b && p.byzDoubleVote && rng() < 0.5) {
          out = def.byzantine!.conflicting(m, signer, b)!;
        } else if (m.type === 'block' && p.byzBadAnswers) {
          out = def.byzantine!.corruptAnswer!(m, signer, b) ?? m;
        }
        w.send(b, to, out);
      }
    };
    r.byzIn = (from, m, now) => {
      const view = Math.floor(now / L);
      if (p.byzVoteAll && m.type === 'proposal' && m.block.view >= view - 1 && m.block.view <= view + 1) {
        const key = m.block.id;
        if (!voted.has(key)) { voted.add(key); const v = vote(m.block.view, m.block.hash); for (const to of others()) w.send(b, to, v, Math.floor(rng() * (delta + 1))); }
      }
      if (p.byzBadAnswers && m.type === 'fetch') {
        const body = bodies.get(toHex(m.blockHash));
        if (body) {
          w.send(b, from, { type: 'block', block: body, votes: [], ancestors: [] }, 0);
          const wrong = adversaryBlocks.conflicting(body, b);
          w.send(b, from, { type: 'block', block: wrong, votes: [], ancestors: [] }, 0);
        }
      }
    };
  }
  // Byzantine periodic actions: floods, fabricated chains, forks aimed at restarted replicas
  if (byz.length > 0) {
    for (let e = 1; e * L < end; e++) {
      w.at(e * L + 1, () => {
        const b = byz[Math.floor(rng() * byz.length)]!;
        const signer = w.signers[b]!;
        const view = Math.floor(w.now / L);
        for (let i = 0; i < p.byzFlood; i++) {
          const src = ownMsgs[Math.floor(rng() * ownMsgs.length)];
          if (!src) break;
          const signerOf = def.byzantine!.signerOf(src);
          if (signerOf !== b) continue;
          const far = def.byzantine!.farFuture!(src, signer, b, 5 + Math.floor(rng() * 1e6));
          if (far) for (let to = 0; to < n; to++) if (to !== b) w.send(b, to, far, 0);
        }
        if (p.byzFabricate && (leaderSchedule?.[view] ?? streamletLeader(view, n)) === b) {
          // a fabricated chain of 40 blocks from a random notarized block, proposed in this view
          const nb = notarizedBodies();
          let parent = nb[Math.floor(rng() * nb.length)]!;
          const chain: Block[] = [];
          for (let i = 0; i < 40; i++) { parent = makeBlock({ parent: parent.hash, height: parent.height + 1, view: Math.max(0, view - 1), proposer: b, payload: [utf8(`fab-${w.now}-${i}`)] }); chain.push(parent); bodies.set(parent.id, parent); }
          const top = makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: b, payload: [] });
          bodies.set(top.id, top);
          const m: StreamletMessage = { type: 'proposal', block: top, signature: signStatement(signer, b, Domains.proposal, { view, sequence: 0, blockHash: top.hash }).signature };
          for (let to = 0; to < n; to++) if (to !== b) w.send(b, to, m, 0);
        }
      });
    }
  }

  // ---- honest crashes (before GST) ----
  const restartHooks: ((r: Replica) => void)[] = [];
  if (p.byzReplay && byz.length > 0) {
    restartHooks.push((r) => {
      const b = byz[0]!;
      const sample = w.seen.slice(-3000);
      for (let i = 0; i < 150 && sample.length > 0; i++) {
        const s = sample[Math.floor(rng() * sample.length)]!;
        w.send(b, r.id, s.m, Math.floor(rng() * 3));
      }
    });
  }
  const origRestart = w.restart.bind(w);
  w.restart = (r) => { const was = r.alive; origRestart(r); if (!was && r.alive) for (const h of restartHooks) h(r); };
  for (let c = 0; c < p.crashes; c++) {
    const t = 1 + Math.floor(rng() * Math.max(1, gst - 2 * L));
    let k: number;
    switch (p.crashMode) {
      case 'single': k = 1; break;
      case 'several': k = 1 + Math.floor(rng() * honestIdx.length); break;
      case 'quorum': k = Math.min(honestIdx.length, quorum); break;
      case 'all': k = honestIdx.length; break;
    }
    const who = [...honestIdx].sort(() => rng() - 0.5).slice(0, k);
    const down = Math.floor(rng() * 6 * L);
    w.at(t, () => {
      for (const i of who) {
        const r = w.reps[i]!;
        if (!r.alive) continue;
        if (rng() < p.midStep) { r.crashAfter = Math.floor(rng() * 6); r.crashDownFor = down; }
        else { w.crash(r); w.at(Math.min(w.now + down, gst - 1), () => w.restart(r)); }
      }
    });
  }
  // at GST, everyone is up (a pending mid-step crash is cancelled)
  w.at(gst - 1, () => { for (const r of w.reps) { r.crashAfter = undefined; if (!r.alive) w.restart(r); } });
  // transactions
  let tx = 0;
  for (let t = 2; t < end; t += Math.max(1, Math.floor(L / 2))) w.at(t, () => w.offer([new Uint8Array([tx & 255, (tx >> 8) & 255, (tx++ >> 16) & 255, 0xaa])]));

  w.start();
  w.runUntil(gst);
  const atGst = w.heights();
  const bound = def.livenessBound({ delta }, n);
  w.runUntil(gst + bound);
  const atBound = w.heights();
  w.runUntil(end);
  w.checkAgreement();
  const atEnd = w.heights();
  const live = {
    everyWithinBound: atBound.every((h, i) => h > atGst[i]!),
    someWithinBound: atBound.some((h, i) => h > atGst[i]!),
    everyByEnd: atEnd.every((h, i) => h > atGst[i]!),
  };
  const maxRetained = Math.max(...honestIdx.map((i) => w.reps[i]!.maxRetained));
  const maxPersist = Math.max(...honestIdx.map((i) => w.reps[i]!.maxPersist));
  const treeBlocks = Math.max(...honestIdx.map((i) => ((w.reps[i]!.inst as any).tree.blocks as Map<string, unknown>).size));
  const restarts = w.reps.map((r) => r.restarts);
  const res = { restarts, violations: w.violations, live, atGst, atBound, atEnd, maxRetained, maxPersist, treeBlocks, byz, gst, msgs: w.messagesDelivered };
  if (verbose) console.log(JSON.stringify(res, null, 0));
  return res;
}

export const paramsArb = fc.record<Params>({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  n: fc.integer({ min: 4, max: 13 }),
  nByz: fc.integer({ min: 0, max: 4 }),
  delta: fc.constantFrom(5, 10, 20),
  gstView: fc.integer({ min: 5, max: 40 }),
  drop: fc.constantFrom(0, 0.05, 0.2, 0.5),
  dup: fc.constantFrom(0, 0.1, 0.3),
  preDelay: fc.constantFrom('uniform', 'zero', 'delta', 'long', 'mixed'),
  postDelay: fc.constantFrom('uniform', 'zero', 'delta', 'zero-or-delta'),
  ties: fc.constantFrom('random', 'timers-first', 'msgs-first'),
  crashes: fc.integer({ min: 0, max: 8 }),
  crashMode: fc.constantFrom('single', 'several', 'quorum', 'all'),
  midStep: fc.constantFrom(0, 0.5, 1),
  byzEquivocate: fc.boolean(),
  byzDoubleVote: fc.boolean(),
  byzVoteAll: fc.boolean(),
  byzForkShort: fc.boolean(),
  byzWithhold: fc.constantFrom(0, 0.3, 1),
  byzBadAnswers: fc.boolean(),
  byzReplay: fc.boolean(),
  byzFlood: fc.constantFrom(0, 0, 50),
  byzFabricate: fc.boolean(),
  honestLeadersAfterGst: fc.constant(true),
  wire: fc.constantFrom(false, false, true),
  postViews: fc.constant(40),
}).map((p) => ({ ...p, nByz: Math.min(p.nByz, Math.floor((p.n - 1) / 3)) }));

if (process.argv[1]?.endsWith('fuzz.ts')) {
  const runs = Number(process.argv[2] ?? 50);
  const seed = Number(process.argv[3] ?? 42);
  const kind = process.argv[4] ?? 'safety';
  let i = 0;
  const tally: Record<string, number> = {};
  const t0 = Date.now();
  const arb = kind === 'restarts' ? paramsArb.map((p) => ({ ...p, crashes: 4 + (p.seed % 8), crashMode: (['quorum', 'all', 'several'] as const)[p.seed % 3]!, midStep: 0.5, byzReplay: true, byzForkShort: true, byzVoteAll: true, postViews: 25 })) : kind === 'hard' ? paramsArb.map((p) => ({ ...p, nByz: Math.floor((p.n - 1) / 3), byzWithhold: 1, drop: p.seed % 2 ? 0.5 : 0.8, postDelay: (p.seed % 3 ? 'delta' : 'zero-or-delta') as Params['postDelay'], byzFlood: 0, byzFabricate: false })) : paramsArb;
  fc.assert(
    fc.property(arb, (p) => {
      i++;
      const r = runOne(p);
      const key = [r.violations.length ? 'VIOL' : 'ok', r.live.everyWithinBound ? 'liveAll' : r.live.someWithinBound ? 'liveSome' : 'liveNone', r.live.everyByEnd ? 'endAll' : 'endNotAll'].join('/');
      tally[key] = (tally[key] ?? 0) + 1;
      const interesting = r.violations.length > 0 || (kind !== 'safety' && !r.live.everyWithinBound) || r.maxRetained > 500;
      if (interesting) console.log('RUN', i, JSON.stringify(p), JSON.stringify({ ...r, violations: r.violations.slice(0, 3) }));
      if (i % 10 === 0) console.error(`#${i} ${(Date.now() - t0) / 1000}s`, JSON.stringify(tally));
      return r.violations.length === 0;
    }),
    { numRuns: runs, seed, endOnFailure: true, verbose: 0 },
  );
  console.log('DONE', i, JSON.stringify(tally));
}
