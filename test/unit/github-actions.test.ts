// The workflows in examples/github-actions/ are valid GitHub Actions workflows (by @action-validator/core, which
// checks them against the workflow schema), and each does what its name says with slipway.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';
import { ROOT } from '../helpers/env.ts';

const DIR = path.join(ROOT, 'examples/github-actions');
const workflows = readdirSync(DIR).filter((f) => f.endsWith('.yml'));
const steps = (file: string) => {
  const w = parse(readFileSync(path.join(DIR, file), 'utf8')) as {
    jobs: Record<string, { needs?: string; steps: { run?: string }[] }>;
  };
  return w.jobs;
};

describe('examples/github-actions', () => {
  it('holds the three ways: deploy over SSH, publish a signed artifact, move a release branch', () => {
    assert.deepEqual(workflows.sort(), ['deploy-over-ssh.yml', 'publish-artifact.yml', 'release-branch.yml']);
  });

  for (const file of workflows)
    it(`${file} is a valid workflow`, () => {
      assert.deepEqual(validateWorkflow(readFileSync(path.join(DIR, file), 'utf8')).errors, []);
    });

  it('the validator does find what is wrong (a job without runs-on, an unknown key)', () => {
    const broken = 'on: push\njobs:\n  test:\n    steps:\n      - run: npm test\n    colour: red\n';
    assert.ok(validateWorkflow(broken).errors.length > 0);
  });

  it('each deploys or publishes only after the tests, with the slipway command it names', () => {
    const expected: Record<string, [string, RegExp]> = {
      'deploy-over-ssh.yml': ['deploy', /^npx --yes slipway deploy production$/],
      'publish-artifact.yml': ['publish', /^npx --yes slipway build --output channel\/ --sign production$/],
      'release-branch.yml': ['release', /^git push origin "\$GITHUB_SHA:refs\/heads\/release"$/],
    };
    for (const [file, [job, command]] of Object.entries(expected)) {
      const jobs = steps(file);
      assert.equal(jobs[job]?.needs, 'test', file);
      assert.ok(
        jobs.test!.steps.some((s) => s.run === 'npm test'),
        file,
      );
      assert.ok(
        jobs[job]!.steps.some((s) => command.test(s.run?.trim() ?? '')),
        `${file}: ${job} runs ${command}`,
      );
    }
  });

  it('no host key is taken on first use, and secrets come from the secrets store, never the file', () => {
    for (const file of workflows) {
      const text = readFileSync(path.join(DIR, file), 'utf8');
      assert.doesNotMatch(text, /StrictHostKeyChecking=no|ssh-keyscan [^H]/, file);
      for (const m of text.matchAll(/(SLIPWAY_[A-Z_]*SECRET|SLIPWAY_[A-Z]+_KEY_[A-Z]+): (.*)/g))
        assert.match(m[2]!, /^\$\{\{ secrets\.[A-Z_]+ \}\}$/, `${file}: ${m[1]}`);
    }
  });
});
