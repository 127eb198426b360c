// Shared test helpers: temporary app repos and running the built CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { browserGet } from './load.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/slipway.js');

/** A git repository holding a copy of the example app, with the given slipway.yml. */
export function makeApp(config: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-app-'));
  cpSync(path.join(ROOT, 'examples/hello'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'slipway.yml'), config);
  for (const [f, content] of Object.entries(files)) writeFileSync(path.join(dir, f), content);
  git(dir, 'init', '-q');
  commit(dir, 'first');
  return dir;
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=Test', ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
}

export function commit(dir: string, subject: string): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', subject);
}

/** Change the app's message and commit it. */
export function change(dir: string, message: string): void {
  writeFileSync(path.join(dir, 'message.txt'), `${message}\n`);
  commit(dir, message);
}

export function slipway(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): ResultPromise<{ cwd: string; reject: false; all: true; env: Record<string, string> }> {
  return execa('node', [CLI, ...args], { cwd: dir, reject: false, all: true, env: { ...env } });
}

export async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const r = await browserGet(url, undefined, 5000);
    return { status: r.status, body: await r.text() };
  } catch (e) {
    return { status: 0, body: String((e as Error).cause ?? e) };
  }
}

/** Wait until `ok` holds (polled every 200 ms); the milliseconds it took, or the test fails. */
export async function within(ms: number, ok: () => Promise<boolean> | boolean): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < ms) {
    if (await ok()) return Date.now() - began;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`not within ${ms} ms`);
}
