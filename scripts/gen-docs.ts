// npm run docs: rewrite the README's configuration reference from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '../src/config/docs.ts';

const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < 0) throw new Error('README.md lacks the config-reference markers');
writeFileSync('README.md', `${readme.slice(0, a + START.length)}\n${configReference()}\n${readme.slice(b)}`);
