// No function in src/engine/ is longer than 60 lines: a flow reads as a list of named steps.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const MAX = 60;
const dir = 'src/engine';
const files = readdirSync(dir, { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(dir, f));
const long = [];
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const name = node.name?.getText() ?? '(anonymous)';
      if (end - start + 1 > MAX) long.push(`${file}:${start + 1}: ${name} is ${end - start + 1} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
if (long.length) {
  console.error(`Functions over ${MAX} lines in ${dir}:\n${long.join('\n')}`);
  process.exit(1);
}
