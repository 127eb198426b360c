// The whole cycle of a stack on a real host, as its users would run it: `slipway init` in the repository,
// then only the host set, setup, deploys, a rollback, and a broken release rolled back under load.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commit, get, git, slipway } from './env.ts';
import { startLoad } from './load.ts';
import type { TestHost } from './testhost.ts';

/** A git repository with these files (path → text). */
export function repoOf(name: string, files: Record<string, string>): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-stack-')), name);
  mkdirSync(dir);
  writeFiles(dir, files);
  git(dir, 'init', '-q');
  commit(dir, 'first');
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
}

/** slipway.yml's end for an app deployed to one test host: its production environment and the ssh config */
export function onHost(host: TestHost): string {
  return `environments:\n  production:\n    hosts: [${host.name}]\nssh:\n  config_file: ${host.sshConfig}\n`;
}

/** `slipway init`, then the one edit its message asks for: the host (an alias, and the ssh config reaching it). */
export async function initFor(repo: string, host: TestHost): Promise<string> {
  const r = await slipway(repo, ['init']);
  assert.equal(r.exitCode, 0, r.all);
  const file = path.join(repo, 'slipway.yml');
  const text = readFileSync(file, 'utf8');
  const placeholder = '"deploy@your-server.example.com"';
  assert.ok(text.includes(placeholder), text);
  writeFileSync(file, `${text.replace(placeholder, host.name)}\nssh:\n  config_file: ${host.sshConfig}\n`);
  commit(repo, 'slipway init');
  return readFileSync(file, 'utf8');
}

/** Run slipway in the repository; fails the test with its output unless it exits as expected. */
export async function run(repo: string, args: string[], exitCode = 0): Promise<string> {
  const r = await slipway(repo, args);
  assert.equal(r.exitCode, exitCode, r.all);
  return r.all;
}

/** Deploy and return the release id. */
export async function deploy(repo: string, env = 'production'): Promise<string> {
  const r = await slipway(repo, ['deploy', env, '--json']);
  assert.equal(r.exitCode, 0, r.all);
  return JSON.parse(r.stdout).release as string;
}

export const page = async (url: string) => (await get(url)).body;

/**
 * Deploy a broken release (committed by the caller) under steady load: the deploy fails with the health check's
 * exit code (or `exitCode`), and no visitor saw a failed request or anything but the release live before.
 */
export async function brokenUnderLoad(repo: string, url: string, live: string, exitCode = 4): Promise<string> {
  const load = startLoad(url);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const out = await run(repo, ['deploy', 'production'], exitCode);
    await new Promise((r) => setTimeout(r, 300));
    const seen = await load.stop();
    assert.ok(seen.requests > 20, `the load ran (${seen.requests} requests)`);
    assert.equal(seen.failed, 0, `no failed request: ${JSON.stringify(seen.statuses)} ${seen.errors.slice(0, 3)}`);
    assert.deepEqual([...seen.bodies], [live]);
    assert.equal(await page(url), live);
    return out;
  } finally {
    await load.stop();
  }
}
