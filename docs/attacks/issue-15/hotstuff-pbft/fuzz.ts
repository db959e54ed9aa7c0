// Randomized search: n in 4..13, f Byzantine replicas (silent / equivocating / corrupt fetch answers /
// far-future flooder / replayer), honest crash-restarts (mid-step prefixes, several or a quorum at
// once), pre-GST loss, duplicates, reorders, delays of exactly 0 / delta after GST, replays of old
// messages (the restarted replica's own included). Checks: double signing, ledger conflicts,
// agreement, liveness after GST, footprint and persisted size.
// usage: fuzz.ts <hotstuff|pbft> <firstSeed> <count> [verbose]
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { Runtime, Rng } from './rt.ts';

const proto = process.argv[2] ?? 'pbft';
const first = Number(process.argv[3] ?? 1), count = Number(process.argv[4] ?? 20), verbose = process.argv[5] === 'v';
const def: any = proto === 'pbft' ? pbft() : hotstuff();

export function runSeed(seed: number) {
  const rng = new Rng(seed * 7919 + 13);
  const n = 4 + rng.int(10);
  const delta = 10;
  const gst = 500 + rng.int(3000);
  const loss = rng.pick([0, 0.1, 0.3, 0.6]);
  const dup = rng.pick([0, 0.1]);
  const exact = rng.next() < 0.3;
  const log: { from: number; to: number; m: any; t: number }[] = [];
  const net = {
    delay(from: number, to: number, m: any, now: number) {
      if (now < gst) { if (rng.next() < loss) return undefined; return rng.int(4 * delta); }
      if (exact) return rng.next() < 0.5 ? 0 : delta;
      const r = rng.next(); return r < 0.2 ? 0 : r < 0.4 ? delta : rng.int(delta + 1);
    },
  };
  const rt = new Runtime(def, n, delta, net);
  const f = rt.f;
  const nByz = rng.int(f + 1);
  const byzIds = new Set<number>();
  while (byzIds.size < nByz) byzIds.add(rng.int(n));
  const kinds: string[] = [];
  for (const b of byzIds) {
    const kind = rng.pick(['silent', 'equivocate', 'corrupt', 'flood', 'replay', 'equivocate']);
    kinds.push(`${b}:${kind}`);
    const signer = rt.signers[b]!;
    if (kind === 'silent') rt.byz.set(b, { filter: () => [] });
    else if (kind === 'equivocate') rt.byz.set(b, { filter: (rt2, i, o) => {
      if (o.type === 'broadcast') { const c = def.byzantine.conflicting(o.message, signer, i); if (c) { for (let j = 0; j < n; j++) if (j !== i) rt2.send(i, j, (j + seed) % 2 ? o.message : c); return []; } }
      return [o];
    } });
    else if (kind === 'corrupt') rt.byz.set(b, { filter: (_rt, i, o) => { if (o.type === 'send') { const c = def.byzantine.corruptAnswer?.(o.message, signer, i); if (c) return [{ ...o, message: c }]; } return [o]; } });
    else if (kind === 'flood') rt.byz.set(b, { filter: (rt2, i, o) => {
      if (o.type === 'broadcast' && rng.next() < 0.3) { const c = def.byzantine.farFuture?.(o.message, signer, i, 1 + rng.int(1_000_000)); if (c) for (let j = 0; j < n; j++) if (j !== i) rt2.send(i, j, c); }
      return [o];
    } });
    else rt.byz.set(b, { filter: (rt2, i, o) => {
      if (o.type === 'broadcast' && log.length > 0 && rng.next() < 0.3) for (let k = 0; k < 3; k++) { const old = rng.pick(log); rt2.send(i, rng.int(n), old.m); }
      return [o];
    } });
  }
  rt.onSend = (from, to, m) => { if (process.env.TRACE && !byzIds.has(from)) console.log('t', rt.now, 'send', from, '->', to, m.type, m.type === 'proposal' ? `v${m.block.view} just${m.justify.view} tc${m.tc?.view}` : m.type === 'vote' ? `v${m.vote.view}` : m.type === 'timeout' ? `v${m.timeout.statement.view} hq${m.timeout.highQC.view}` : ''); if (log.length < 20000 && rng.next() < 0.2) log.push({ from, to: to === 'all' ? -1 : (to as number), m, t: rt.now }); };
  // duplicates: wrap send
  const origSend = rt.send.bind(rt);
  rt.send = (from: number, to: number, m: any) => { origSend(from, to, m); if (rt.now < gst && rng.next() < dup) origSend(from, to, m); };
  for (let i = 0; i < n; i++) rt.start(i);
  const honest = [...Array(n).keys()].filter((i) => !byzIds.has(i));
  // crash-restart plan
  const events: string[] = [];
  let lastRestart = 0;
  const nCrash = rng.int(5);
  for (let c = 0; c < nCrash; c++) {
    const at = rng.int(gst + 2000);
    const mode = rng.pick(['one', 'several', 'quorum', 'all']);
    const k = mode === 'one' ? 1 : mode === 'several' ? 2 + rng.int(Math.max(1, f)) : mode === 'quorum' ? rt.validators.quorum - nByz : honest.length;
    const who = [...honest].sort(() => rng.next() - 0.5).slice(0, Math.max(1, Math.min(honest.length, k)));
    const down = rng.pick([0, 1, delta, 5 * delta, 300, 1500]);
    const prefix = rng.next() < 0.6;
    lastRestart = Math.max(lastRestart, at + down + 1);
    events.push(`${at}:${mode}[${who.join(',')}]down${down}${prefix ? 'mid' : ''}`);
    rt.at(at, () => {
      if (process.env.TRACE) console.log('t', rt.now, 'CRASH', who.join(','));
      for (const i of who) {
        if (!rt.inst[i]) continue;
        if (prefix) rt.crashAtStep.set(i, rng.int(6)); else rt.crash(i);
      }
      rt.at(at + down + 1, () => {
        if (process.env.TRACE) console.log('t', rt.now, 'RESTART', who.join(','), who.map((i) => rt.persisted[i] ? 'p' : '-').join(''));
        for (const i of who) { if (rt.inst[i]) rt.crash(i); rt.crashAtStep.delete(i); rt.start(i);
          // replay old messages to the restarted replica, its own included
          for (let r = 0; r < 30 && log.length > 0; r++) { const old = rng.pick(log); rt.inject(old.from, i, old.m, rng.int(3 * delta)); }
        }
      });
    });
  }
  const stable = Math.max(gst, lastRestart);
  const bound = def.livenessBound({ delta }, n);
  const end = stable + 6 * bound + 2000;
  let hAt: number[] = [];
  rt.at(stable, () => { hAt = honest.map((i) => rt.ledgers[i]!.height); });
  let maxRetained = 0;
  const probe = () => { for (const i of honest) { const fp = rt.inst[i]?.footprint?.(); if (fp) maxRetained = Math.max(maxRetained, fp.retained); } if (rt.now + 200 < end) rt.at(rt.now + 200, probe); };
  rt.at(100, probe);
  rt.run(end);
  if (process.env.DEBUG) for (const i of honest) { const p: any = rt.inst[i]; console.log('replica', i, p ? JSON.stringify({ view: p.view, lastVoted: p.lastVotedView, timedOut: p.timedOutView, highQC: p.highQC?.view, locked: p.lockedQC?.view, tip: p.committedTip?.height, root: p.store?.root.block.height, proposed: p.proposedView, timeouts: p.timeouts ? [...p.timeouts.entries()].map(([v, m]: any) => [v, [...m.keys()]]) : undefined, fetching: p.fetching?.size, pendingQC: p.pendingQC?.size, orphans: p.store?.orphanCount, timers: [...rt.timers[i]!.keys()] }) : 'down'); }
  rt.checkAgreement();
  const hEnd = honest.map((i) => rt.ledgers[i]!.height);
  const stuck = honest.filter((_, k) => hEnd[k]! <= hAt[k]!);
  const desc = `seed=${seed} n=${n} f=${f} byz=[${kinds.join(' ')}] gst=${gst} loss=${loss} dup=${dup} exact=${exact} crashes=[${events.join(' ')}] end=${end}`;
  const problems = [...rt.violations];
  if (stuck.length > 0) problems.push(`LIVENESS: honest ${stuck.join(',')} finalized nothing between ${stable} and ${end} (heights at stable ${hAt.join(',')}, end ${hEnd.join(',')})`);
  if (maxRetained > 20000) problems.push(`FOOTPRINT retained ${maxRetained}`);
  return { desc, problems, maxRetained, maxPersist: rt.maxPersist, hEnd, evidenceAgainstHonest: rt.evidence.filter((e) => honest.includes(e.ev.offender)).length };
}

for (let s = first; s < first + count; s++) {
  const t0 = Date.now();
  const r = runSeed(s);
  const bad = r.problems.length > 0 || r.evidenceAgainstHonest > 0;
  if (bad || verbose) console.log(`${bad ? 'FAIL' : 'ok'} ${proto} ${r.desc} ms=${Date.now() - t0} retained=${r.maxRetained} persistB=${r.maxPersist} heights=${r.hEnd.join(',')} evAgainstHonest=${r.evidenceAgainstHonest}\n   ${r.problems.slice(0, 4).join('\n   ')}`);
}
console.log('done', proto, first, count);
