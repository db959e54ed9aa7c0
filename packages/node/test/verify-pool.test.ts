// The verify pool: worker threads give the verdicts the replica's own scheme gives (strict rule
// included), remember them so a later synchronous check is a lookup, and forget the oldest first.
import fc from 'fast-check';
import { createSignatureScheme, type SignatureScheme } from '@bftx/crypto';
import { VerifyPool, type VerifyJob } from '../src/index';

const scheme = createSignatureScheme('node');
const signers = [1, 2, 3].map((k) => scheme.signer(new Uint8Array(32).fill(k)));
const DOMAIN = 'bftx.order';

/** The scheme, counting the checks that reach it. */
function counting(base: SignatureScheme): SignatureScheme & { calls: number } {
  const s = { ...base, calls: 0, verify: (...a: Parameters<SignatureScheme['verify']>) => (s.calls++, base.verify(...a)) };
  return s;
}

function job(signer: number, payload: Uint8Array): VerifyJob {
  const s = signers[signer]!;
  return { publicKey: s.publicKey, domain: DOMAIN, payload, signature: s.sign(DOMAIN, payload) };
}

// Cases the strict rule decides (see @bftx/crypto strict.ts), each checked in a worker and here.
const L = Uint8Array.from([0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, ...new Array(15).fill(0), 0x10]);
const cases: Array<[string, () => VerifyJob]> = [
  ['a valid signature', () => job(0, Uint8Array.of(1, 2, 3))],
  ['another payload', () => ({ ...job(0, Uint8Array.of(1, 2, 3)), payload: Uint8Array.of(1, 2, 4) })],
  ['another key', () => ({ ...job(0, Uint8Array.of(1, 2, 3)), publicKey: signers[1]!.publicKey })],
  ['another domain', () => ({ ...job(0, Uint8Array.of(1, 2, 3)), domain: 'bftx.transfer' })],
  ['S not below L (S + L: malleated)', () => {
    const j = job(0, Uint8Array.of(9));
    const sig = j.signature.slice();
    let carry = 0;
    for (let i = 0; i < 32; i++) {
      const v = sig[32 + i]! + L[i]! + carry;
      sig[32 + i] = v & 0xff;
      carry = v >> 8;
    }
    return { ...j, signature: sig };
  }],
  ['a small-order public key', () => ({ ...job(0, Uint8Array.of(5)), publicKey: Uint8Array.from([1, ...new Array(31).fill(0)]) })],
  ['a 63-byte signature', () => ({ ...job(0, Uint8Array.of(5)), signature: job(0, Uint8Array.of(5)).signature.slice(0, 63) })],
  ['a zero signature', () => ({ ...job(0, Uint8Array.of(5)), signature: new Uint8Array(64) })],
  ['an empty payload', () => job(2, new Uint8Array(0))],
];

describe('two workers give the scheme\'s verdict', () => {
  const pool = new VerifyPool(scheme, { workers: 2 });
  afterAll(() => pool.close());

  test.each(cases)('%s', async (_what, make) => {
    const j = make();
    const expected = scheme.verify(j.publicKey, j.domain, j.payload, j.signature);
    expect(await pool.check([j])).toEqual([expected]);
  });

  test('for batches of valid and bit-flipped signatures, in order (property)', async () => {
    const spec = fc.record({ signer: fc.integer({ min: 0, max: 2 }), payload: fc.uint8Array({ maxLength: 300 }), flip: fc.option(fc.nat(), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 40 }), async (specs) => {
        const jobs = specs.map(({ signer, payload, flip }) => {
          const j = job(signer, payload);
          if (flip === undefined) return j;
          const signature = j.signature.slice();
          signature[flip % 64]! ^= 1 << (flip % 8);
          return { ...j, signature };
        });
        expect(await pool.check(jobs)).toEqual(jobs.map((j) => scheme.verify(j.publicKey, j.domain, j.payload, j.signature)));
      }),
      { numRuns: 50 },
    );
  }, 60_000);
});

test('a verdict the pool reached is remembered: the scheme it wraps is not asked again for exactly that job, and is for any other', async () => {
  const base = counting(scheme);
  const pool = new VerifyPool(base, { workers: 1 });
  try {
    const good = job(0, Uint8Array.of(7));
    const bad = { ...job(0, Uint8Array.of(8)), payload: Uint8Array.of(9) };
    expect(await pool.check([good, bad])).toEqual([true, false]);
    expect(base.calls).toBe(0); // both went to the worker
    expect(pool.scheme.verify(good.publicKey, good.domain, good.payload, good.signature)).toBe(true);
    expect(pool.scheme.verify(bad.publicKey, bad.domain, bad.payload, bad.signature)).toBe(false);
    expect(base.calls).toBe(0);
    expect(pool.counts).toEqual({ checked: 2, inWorkers: 2, remembered: 2 });
    // The same signature over other bytes, under another key or domain: checked, and refused.
    expect(pool.scheme.verify(good.publicKey, good.domain, Uint8Array.of(6), good.signature)).toBe(false);
    expect(pool.scheme.verify(signers[1]!.publicKey, good.domain, good.payload, good.signature)).toBe(false);
    expect(pool.scheme.verify(good.publicKey, 'bftx.transfer', good.payload, good.signature)).toBe(false);
    expect(base.calls).toBe(3);
    // Checked again through the pool: answered from memory, not sent.
    expect(await pool.check([good])).toEqual([true]);
    expect(pool.counts.inWorkers).toBe(2);
  } finally {
    await pool.close();
  }
});

test('the pool holds the bytes it checked, not the caller\'s: changing them afterwards does not carry the verdict over', async () => {
  const pool = new VerifyPool(scheme, { workers: 1 });
  try {
    const j = job(0, Uint8Array.of(1, 1, 1));
    expect(await pool.check([j])).toEqual([true]);
    j.payload[0] = 2; // the caller's buffer reused for other bytes
    expect(pool.scheme.verify(j.publicKey, j.domain, j.payload, j.signature)).toBe(false);
  } finally {
    await pool.close();
  }
});

test('memory is bounded: past `remember` verdicts the oldest are forgotten (and checked again when asked)', async () => {
  const base = counting(scheme);
  const pool = new VerifyPool(base, { workers: 1, remember: 8 });
  try {
    const jobs = Array.from({ length: 20 }, (_, i) => job(0, Uint8Array.of(i)));
    expect(await pool.check(jobs)).toEqual(jobs.map(() => true));
    for (const j of jobs) expect(pool.scheme.verify(j.publicKey, j.domain, j.payload, j.signature)).toBe(true);
    expect(base.calls).toBe(12); // the first 12 were forgotten
  } finally {
    await pool.close();
  }
});

test('with another backend than node:crypto, or no workers, or once closed, jobs are checked on this thread with the same verdicts', async () => {
  const noble = counting(createSignatureScheme('noble'));
  const inline = new VerifyPool(noble, { workers: 4 });
  expect(inline.workers).toBe(0);
  const jobs = [job(0, Uint8Array.of(1)), { ...job(1, Uint8Array.of(1)), payload: Uint8Array.of(2) }];
  expect(await inline.check(jobs)).toEqual([true, false]);
  expect(noble.calls).toBe(2);
  expect(inline.counts.inWorkers).toBe(0);
  const closed = new VerifyPool(scheme, { workers: 1 });
  await closed.close();
  expect(await closed.check(jobs)).toEqual([true, false]);
  expect(closed.counts.inWorkers).toBe(0);
});

test('a worker that dies takes no more jobs; its unanswered jobs and later ones are checked on this thread, with the same verdicts', async () => {
  const pool = new VerifyPool(scheme, { workers: 1 });
  try {
    const jobs = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? { ...job(1, Uint8Array.of(i)), payload: Uint8Array.of(i, 1) } : job(1, Uint8Array.of(i))));
    const expected = jobs.map((j) => scheme.verify(j.publicKey, j.domain, j.payload, j.signature));
    // Killed while it holds jobs (the test reaches in: a crash has no public trigger).
    const checking = pool.check(jobs);
    await (pool as unknown as { lanes: Array<{ worker: { terminate(): Promise<number> } }> }).lanes[0]!.worker.terminate();
    expect(await checking).toEqual(expected);
    expect(pool.alive).toBe(0);
    const later = [job(2, Uint8Array.of(200)), { ...job(2, Uint8Array.of(201)), payload: Uint8Array.of(0) }];
    expect(await pool.check(later)).toEqual([true, false]);
  } finally {
    await pool.close();
  }
});

test("signatures made through the pool's scheme are remembered as valid: checking one's own is a lookup, another payload under it is not", async () => {
  const base = counting(scheme);
  const pool = new VerifyPool(base, { workers: 0 });
  try {
    const signer = pool.scheme.signer(new Uint8Array(32).fill(5));
    const payload = Uint8Array.of(7, 7, 7);
    const signature = signer.sign(DOMAIN, payload);
    expect(signature).toEqual(scheme.signer(new Uint8Array(32).fill(5)).sign(DOMAIN, payload));
    expect(pool.scheme.verify(signer.publicKey, DOMAIN, payload, signature)).toBe(true);
    expect(base.calls).toBe(0);
    expect(pool.counts.remembered).toBe(1);
    // Not a verdict for other bytes under the same signature: those are checked (and refused).
    expect(pool.scheme.verify(signer.publicKey, DOMAIN, Uint8Array.of(7, 7, 8), signature)).toBe(false);
    expect(base.calls).toBe(1);
  } finally {
    await pool.close();
  }
});
