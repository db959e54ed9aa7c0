import { build } from 'esbuild';
import { resolve } from 'node:path';
import { createSignatureScheme, keyPairFromSeed, toHex } from '@bftx/crypto';
import { Client, ClientError, clusterIdOf, resolveTrust, verifyCertification } from '../src/index';

const keys = Array.from({ length: 4 }, (_, i) => keyPairFromSeed(createSignatureScheme(), new Uint8Array(32).fill(i + 1)).publicKey);

test('the package bundles for a browser: nothing Node-only on any import path', async () => {
  const out = await build({ entryPoints: [resolve(__dirname, '../src/index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, conditions: ['@bftx/source'], logLevel: 'silent' });
  expect(out.errors).toEqual([]);
  const text = out.outputFiles[0]!.text;
  expect(text).not.toMatch(/from ["']node:/);
});

test('trust: the cluster id is the replicas\' (protocol, ordering, keys); bad options are refused with BAD_OPTIONS', () => {
  const t = resolveTrust({ protocol: 'hotstuff', validators: keys.map(toHex) });
  expect(toHex(t.cluster)).toBe(toHex(clusterIdOf('hotstuff', keys)));
  expect(toHex(resolveTrust({ protocol: 'hotstuff', validators: keys, ordering: 'fair' }).cluster)).not.toBe(toHex(t.cluster));
  expect(t.threshold).toBe(2); // f + 1 for n = 4
  expect(resolveTrust({ protocol: 'pbft', validators: keys, attestations: '2f+1' }).threshold).toBe(3);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ClientError ? e.code : String(e);
    }
    return 'no error';
  };
  expect(code(() => resolveTrust({ protocol: 'raft' as 'pbft', validators: keys }))).toBe('BAD_OPTIONS');
  expect(code(() => resolveTrust({ protocol: 'pbft', validators: ['zz'] }))).toBe('BAD_OPTIONS');
  expect(code(() => resolveTrust({ protocol: 'pbft', validators: keys, attestations: 'all' as 'f+1' }))).toBe('BAD_OPTIONS');
  expect(code(() => new Client({ protocol: 'pbft', validators: keys, replicas: [] }))).toBe('BAD_OPTIONS');
});

test('a certification without a certificate, or not in the documented shape, is refused with the matching code', () => {
  const t = resolveTrust({ protocol: 'streamlet', validators: keys });
  const base = { height: 3, blockHash: '00'.repeat(32), stateRoot: '11'.repeat(32), finality: null, attestations: [] };
  const code = (c: unknown) => {
    try {
      verifyCertification(t, c as never);
    } catch (e) {
      return e instanceof ClientError ? e.code : String(e);
    }
    return 'verified';
  };
  expect(code(base)).toBe('FINALITY_MISSING');
  expect(code({ ...base, finality: { hex: 'zz' } })).toBe('MALFORMED_ANSWER');
  expect(code({ ...base, finality: { hex: '00ff' } })).toBe('MALFORMED_ANSWER');
  expect(code({ ...base, height: -1 })).toBe('MALFORMED_ANSWER');
  expect(code({ ...base, blockHash: undefined })).toBe('MALFORMED_ANSWER');
  expect(code('not an object')).toBe('MALFORMED_ANSWER');
});
