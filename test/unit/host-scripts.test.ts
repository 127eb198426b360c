// The constant host scripts are real files, and every one passes shellcheck as POSIX sh.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const DIR = path.resolve('src/scripts');
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.sh'));

describe('host scripts', () => {
  it('are found', () => assert.ok(scripts.length >= 25, `${scripts.length} scripts in ${DIR}`));

  it('pass shellcheck', () => {
    const out = execFileSync('shellcheck', ['--shell=sh', '--format=gcc', ...scripts], {
      cwd: DIR,
      encoding: 'utf8',
    }).trim();
    assert.equal(out, '');
  });
});
