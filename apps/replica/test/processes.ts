// Shared by the process-level fault tests: a seeded generator, free ports, a replica's status and
// blocks over its API, and waiting for a condition.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterFiles } from '@bftx/node';
import type { Io } from '../src/cli';

/** A small seeded generator (mulberry32): the kill schedule replays from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function portsFree(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!ok) return false;
  }
  return true;
}

export async function freeBase(random: () => number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(random() * 400) * 100;
    if (await portsFree([0, 1, 2, 3, 100, 101, 102, 103].map((d) => base + d))) return base;
  }
}

export interface Status {
  height: number;
  connectedPeers: number[];
}

export async function status(files: ClusterFiles, i: number): Promise<Status | undefined> {
  const a = files.replicas[i]!.api;
  try {
    const res = await fetch(`http://${a.host}:${a.port}/v1/status`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as Status) : undefined;
  } catch {
    return undefined;
  }
}

export async function block(files: ClusterFiles, i: number, height: number): Promise<{ id: string; stateRoot: string } | undefined> {
  const a = files.replicas[i]!.api;
  const res = await fetch(`http://${a.host}:${a.port}/v1/blocks/${height}`);
  return res.ok ? ((await res.json()) as { id: string; stateRoot: string }) : undefined;
}

export async function until(what: () => string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}


/** Resolves once the process has exited (at once if it already has). */
export const exited = (c: ChildProcess) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : c.once('exit', () => res())));

/** Resolves once every replica of the cluster answers with all its peers connected. */
export async function allConnected(files: ClusterFiles, ms?: number, detail: () => string = () => ''): Promise<void> {
  await until(
    () => `every replica up and connected${detail()}`,
    async () => (await Promise.all(files.replicas.map((_, i) => status(files, i)))).every((s) => s?.connectedPeers.length === files.replicas.length - 1),
    ms,
  );
}

/** The CLI's output, kept for the test to read. */
export function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (s) => void (out += s), err: (s) => void (err += s), stdout: () => out, stderr: () => err };
}

/** Makes temporary folders named `prefix`..., all removed after the file's tests (registers afterAll). */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
