import { FifoMempool, txKey } from '../src/index';

describe('txKey', () => {
  test('equal bytes give equal keys, any difference gives another key, long transactions included', () => {
    const a = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 31) & 0xff);
    const b = a.slice();
    expect(txKey(b)).toBe(txKey(a));
    const c = a.slice();
    c[19_999]! ^= 1;
    expect(txKey(c)).not.toBe(txKey(a));
    // Keys are remembered per byte array (transactions are values, never changed in place).
    expect(txKey(a)).toBe(txKey(a.slice()));
    expect(txKey(a.subarray(0, 10))).not.toBe(txKey(a.subarray(0, 11)));
    expect(txKey(new Uint8Array(0))).toBe('');
    expect(txKey(Uint8Array.of(0, 255)).length).toBe(2);
  });
});

describe('FifoMempool', () => {
  test('first in, first out; duplicates ignored; excluded and removed transactions are not taken; capacity refuses the newest', () => {
    const tx = (i: number) => Uint8Array.of(i, i + 1);
    const pool = new FifoMempool(3);
    pool.add([tx(1), tx(2), tx(1).slice(), tx(3), tx(4)]);
    expect(pool.size).toBe(3);
    expect(pool.take(10, new Set([txKey(tx(2))]))).toEqual([tx(1), tx(3)]);
    pool.remove([tx(1)]);
    expect(pool.take(10, new Set())).toEqual([tx(2), tx(3)]);
    expect(pool.take(1, new Set())).toEqual([tx(2)]);
  });
});
