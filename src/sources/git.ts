// A git source on the host: a bare mirror of the one branch, fetched with the app's read-only deploy key and the
// git server's pinned host key (AGENT.git(app), written by setup), and a commit's files exported from it.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { SlipwayError } from '../errors.ts';

export interface GitTip {
  sha: string;
  subject: string;
  /** the commit's committer time (ms) */
  committedAt: number;
}

/** What git needs from the environment: ssh through the app's wrapper (key and host key pinned), no prompts. */
function gitEnv(dir: string): Record<string, string> {
  return { GIT_SSH: path.join(dir, 'ssh'), GIT_SSH_VARIANT: 'ssh', GIT_TERMINAL_PROMPT: '0' };
}

async function gitIn(dir: string, args: string[], timeout = 60_000) {
  return execa('git', ['--git-dir', path.join(dir, 'mirror.git'), ...args], {
    env: gitEnv(dir),
    reject: false,
    timeout,
  });
}

/** Fetch the branch into the mirror (made on first use); its tip. */
export async function fetchBranch(source: string, branch: string, dir: string): Promise<GitTip> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const init = await execa('git', ['init', '-q', '--bare', path.join(dir, 'mirror.git')], { reject: false });
  if (init.exitCode !== 0) throw new SlipwayError('connection', `git init: ${init.stderr.trim()}`);
  const fetched = await gitIn(dir, ['fetch', '-q', '--no-tags', '--force', '--', source, `+refs/heads/${branch}:tip`]);
  if (fetched.exitCode !== 0)
    throw new SlipwayError('connection', `git fetch ${source} ${branch}: ${gitReason(fetched.stderr)}`);
  const log = await gitIn(dir, ['log', '-1', '--format=%H%n%ct%n%s', 'tip', '--']);
  const [sha = '', ct = '0', subject = ''] = log.stdout.split('\n');
  return { sha, subject, committedAt: Number(ct) * 1000 };
}

/** git's own reason: its first fatal line (the ones after it are generic), else its last line. */
const gitReason = (text: string) => {
  const lines = text.trim().split('\n');
  return (lines.find((l) => l.startsWith('fatal: ')) ?? lines.at(-1) ?? '').replace(/^fatal: /, '');
};

/** Whether `old` is in the history of `tip`: false when the branch was rewritten (or `old` is not known here). */
export async function isAncestor(dir: string, old: string, tip: string): Promise<boolean> {
  return (await gitIn(dir, ['merge-base', '--is-ancestor', old, tip])).exitCode === 0;
}

/** The commit's files, as `git archive` gives them, in `into` (emptied first). */
export async function exportCommit(sha: string, into: string, dir?: string): Promise<void> {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true, mode: 0o755 });
  const tar = `${into}.tar`;
  try {
    const args = ['archive', '--format=tar', `--output=${tar}`, sha];
    const r = dir ? await gitIn(dir, args) : await execa('git', args, { reject: false });
    if (r.exitCode !== 0) throw new SlipwayError('failure', `git archive ${sha}: ${gitReason(r.stderr)}`);
    await execa('tar', ['-xf', tar, '-C', into]);
  } finally {
    rmSync(tar, { force: true });
  }
}

/** The ssh server of an ssh or scp-like git URL, as known_hosts names it (pure); undefined for https or a folder. */
export function sshServer(source: string): { host: string; port: number; pattern: string } | undefined {
  const scp = /^[^@/]+@([^:/]+):/.exec(source);
  let host: string;
  let port = 22;
  if (scp) host = scp[1]!;
  else if (source.startsWith('ssh://')) {
    const url = new URL(source);
    host = url.hostname.replace(/^\[|\]$/g, '');
    port = url.port ? Number(url.port) : 22;
  } else return undefined;
  return { host, port, pattern: port === 22 ? host : `[${host}]:${port}` };
}
