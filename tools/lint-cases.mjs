// Lints code snippets as if they were files at given paths, with the real
// workspace config; prints the rule ids that fired, as JSON. Used by
// tools/test/lint-rules.test.ts (ESLint loads its ESM config, which jest's
// CommonJS runtime cannot, so the test runs this as a child process).
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';

// The cases: a JSON file (argv[2]) holding [{ code, filePath }].
const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const { code, filePath } of cases) {
  const [result] = await eslint.lintText(code, { filePath });
  out.push((result?.messages ?? []).filter((m) => m.severity === 2).map((m) => m.ruleId ?? m.message));
}
console.log(JSON.stringify(out));
