// Lines of code are at most 120 characters: the formatter wraps code, not long strings and comments.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs', '*.js'])
  .toString()
  .split('\n')
  .filter(Boolean);
const long = files.flatMap((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .flatMap((line, i) => ([...line].length > MAX ? [`${f}:${i + 1}: ${[...line].length} characters`] : [])),
);
if (long.length) {
  console.error(`Lines over ${MAX} characters:\n${long.join('\n')}`);
  process.exit(1);
}
