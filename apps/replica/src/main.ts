#!/usr/bin/env node
// bftx-replica: see cli.ts. Only unexpected errors (bugs) reach the catch below.
import { main } from './cli';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error (a bug in bftx; please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
