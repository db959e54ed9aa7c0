// Runs a command and shows its output only if it fails (issue 21: `npm run demo` printed the whole
// build before the demo). Exit code: the command's.
//   node tools/quiet.mjs <command> [args...]
import { spawnSync } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: node tools/quiet.mjs <command> [args...]\n');
  process.exit(2);
}
const r = spawnSync(command, args, { encoding: 'utf8', shell: process.platform === 'win32', maxBuffer: 64 * 1024 * 1024 });
if (r.error !== undefined) {
  process.stderr.write(`${command}: ${r.error.message}\n`);
  process.exit(1);
}
if (r.status !== 0) {
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.stderr.write(`\n${[command, ...args].join(' ')} failed (exit ${r.status ?? r.signal}): its output is above.\n`);
}
process.exit(r.status ?? 1);
