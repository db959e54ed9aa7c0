import fc from 'fast-check';
import { EventQueue, lossy, partialSynchrony, Rng, synchronous, withPartitions, asynchronous } from '../src/index';

describe('Rng', () => {
  test('same seed, same stream; split streams are independent of later draws', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    expect(Array.from({ length: 50 }, () => a.nextU32())).toEqual(Array.from({ length: 50 }, () => b.nextU32()));
    const r1 = new Rng(1);
    const s1 = r1.split('net');
    const r2 = new Rng(1);
    const s2 = r2.split('net');
    r2.nextU32(); // extra draws on the parent after the split do not shift the child
    expect(s1.nextU32()).toBe(s2.nextU32());
    expect(new Rng(1).split('a').nextU32()).not.toBe(new Rng(1).split('b').nextU32());
  });
  test('int stays in range and covers it', () => {
    const r = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(2, 6);
      expect(v).toBeGreaterThanOrEqual(2);
      expect(v).toBeLessThanOrEqual(6);
      seen.add(v);
    }
    expect(seen.size).toBe(5);
  });
});

describe('EventQueue', () => {
  test('pops by time, then in insertion order (same as a stable sort)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue<number>();
        times.forEach((t, i) => q.push(t, i));
        const out: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) out.push(e.item);
        const expected = times.map((t, i) => [t, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]).map(([, i]) => i);
        expect(out).toEqual(expected);
      }),
      { numRuns: bftxRuns(200) },
    );
  });
});

const MSG = { kind: 'proposal', vote: false };

describe('network models', () => {
  test('synchronous: within delta', () => {
    const r = new Rng(1);
    for (let i = 0; i < 500; i++) {
      const [at] = synchronous(10).deliveries(0, 1, 100, r, MSG);
      expect(at).toBeGreaterThan(100);
      expect(at).toBeLessThanOrEqual(110);
    }
  });
  test('partial synchrony: everything sent before GST arrives by GST + delta, after GST within delta', () => {
    const r = new Rng(2);
    const net = partialSynchrony(10, 1000);
    for (let now = 0; now < 2000; now += 7) {
      const [at] = net.deliveries(0, 1, now, r, MSG);
      expect(at).toBeGreaterThan(now);
      expect(at).toBeLessThanOrEqual(now < 1000 ? 1010 : now + 10);
    }
  });
  test('partitions hold cross-group messages until the heal; a replica in both groups talks to both', () => {
    const r = new Rng(3);
    const net = withPartitions(synchronous(10), [{ from: 0, until: 500, groups: [[0, 1, 4], [2, 3, 4]] }]);
    expect(net.deliveries(0, 2, 100, r, MSG)[0]).toBeGreaterThan(500);
    expect(net.deliveries(0, 1, 100, r, MSG)[0]).toBeLessThanOrEqual(110);
    expect(net.deliveries(4, 2, 100, r, MSG)[0]).toBeLessThanOrEqual(110);
    expect(net.deliveries(0, 2, 600, r, MSG)[0]).toBeLessThanOrEqual(610);
  });
  test('lossy: drops and duplicates at about the given rates; asynchronous: bounded by maxDelay', () => {
    const r = new Rng(4);
    const net = lossy(synchronous(10), 0.2, 0.1);
    let dropped = 0;
    let doubled = 0;
    for (let i = 0; i < 5000; i++) {
      const n = net.deliveries(0, 1, 0, r, MSG).length;
      if (n === 0) dropped++;
      if (n === 2) doubled++;
    }
    expect(dropped / 5000).toBeGreaterThan(0.17);
    expect(dropped / 5000).toBeLessThan(0.23);
    expect(doubled / 4000).toBeGreaterThan(0.07);
    expect(doubled / 4000).toBeLessThan(0.13);
    for (let i = 0; i < 100; i++) expect(asynchronous(50).deliveries(0, 1, 0, r, MSG)[0]).toBeLessThanOrEqual(50);
  });
});
