// `git push ENV BRANCH` (git_push): the pre-receive hook of the bare repository `setup` made on the host, run as the
// user who pushes. A push to the deploy branch is deployed before git takes it: the commit's files exported, its
// slipway.yml read for this environment and this host, and the engine's own deploy run here (lock, guardrails,
// health gate, rollback). Its progress streams to the pusher; when it fails the push is rejected, and the rejection's
// first line says which step failed and why. Past the switch, a dropped connection does not stop the deploy: the
// hook goes on without anyone to tell.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type ResolvedConfig, resolveEnvironment } from '../config/load.ts';
import { deploy } from '../engine/deploy.ts';
import { Events } from '../engine/events.ts';
import { SlipwayError } from '../errors.ts';
import { Terminal } from '../cli/terminal.ts';
import { layout } from '../server/layout.ts';
import { exportCommit } from '../sources/git.ts';
import { deployLeaseMs, hostEnvFile } from './on-host.ts';

const ZERO = /^0+$/;

/** One ref a push updates, as git gives it to the hook on stdin: old, new, name. */
export interface PushedRef {
  old: string;
  new: string;
  ref: string;
}

export function parsePushedRefs(stdin: string): PushedRef[] {
  return stdin
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length === 3)
    .map(([o, n, ref]) => ({ old: o!, new: n!, ref: ref! }));
}

/** What the push asks of the deploy branch (pure): deploy a commit, refuse a deletion, or nothing. */
export function pushDecision(
  refs: PushedRef[],
  branch: string,
): { do: 'deploy'; sha: string } | { do: 'refuse'; why: string } | { do: 'nothing'; others: string[] } {
  const mine = refs.find((r) => r.ref === `refs/heads/${branch}`);
  const others = refs.filter((r) => r !== mine).map((r) => r.ref);
  if (!mine) return { do: 'nothing', others };
  if (ZERO.test(mine.new)) return { do: 'refuse', why: `deleting ${branch} would leave nothing to deploy` };
  return { do: 'deploy', sha: mine.new };
}

const say = (line: string) => process.stderr.write(`${line}\n`);
const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();

export async function preReceive(): Promise<number> {
  // the pusher may hang up (entry.ts ignores SIGHUP): the deploy goes on, writing nowhere
  process.stderr.on('error', () => undefined);
  const branch = git('config', '--get', 'slipway.branch');
  const decision = pushDecision(parsePushedRefs(readFileSync(0, 'utf8')), branch);
  if (decision.do === 'refuse') return rejected(decision.why);
  if (decision.do === 'nothing') {
    say(`slipway: only ${branch} is deployed; ${decision.others.join(', ')} taken as they are`);
    return 0;
  }
  const appDir = path.resolve(process.cwd(), '..', '..');
  const work = layout(appDir).pushWork;
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(path.join(work, `${decision.sha.slice(0, 12)}-`));
  try {
    return await deployCommit(appDir, dir, decision.sha);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deployCommit(appDir: string, dir: string, sha: string): Promise<number> {
  const environment = git('config', '--get', 'slipway.environment');
  const events = new Events();
  new Terminal(events);
  let failedStep = '';
  events.subscribe((e) => {
    if (e.type === 'phase' && e.state === 'failed') failedStep ||= e.title;
  });
  try {
    await exportCommit(sha, dir);
    const cfg = hostConfig(dir, environment, git('config', '--get', 'slipway.host'), appDir);
    const subject = git('log', '-1', '--format=%s', sha);
    // the build and the hooks run in the exported folder: git's variables would point them at this repository
    for (const k of Object.keys(process.env)) if (k.startsWith('GIT_')) delete process.env[k];
    say(`slipway: deploying ${sha.slice(0, 12)} "${subject}" to ${environment} on ${cfg.targets[0]!.name}`);
    const r = await deploy(cfg, events, {
      allowDirty: false,
      command: `git push (${sha.slice(0, 12)})`,
      lockWait: 0,
      commit: { sha, subject },
      onHost: {
        envFile: hostEnvFile(cfg),
        lock: {
          user: `${os.userInfo().username} (git push)`,
          expires: new Date(Date.now() + deployLeaseMs(cfg)).toISOString(),
        },
      },
    });
    say(`slipway: ${r.release} is live on ${r.hosts.join(', ')}`);
    return 0;
  } catch (e) {
    const err = e instanceof SlipwayError ? e : new SlipwayError('failure', String((e as Error).message ?? e));
    const first = events.redact(err.message.split('\n')[0]!);
    return rejected(failedStep ? `${failedStep} failed: ${first}` : first, [
      ...(err.details ? events.redact(err.details).split('\n') : []),
      ...(err.hint ? [`→ ${err.hint}`] : []),
      `the rest: slipway logs ${environment}, slipway history ${environment}`,
    ]);
  }
}

function rejected(why: string, more: string[] = []): number {
  say(`slipway: push rejected: ${why}`);
  for (const line of more) say(`  ${line}`);
  return 1;
}

/** The pushed slipway.yml for this environment, deploying this host only, from the exported folder. */
export function hostConfig(dir: string, environment: string, host: string, appDir: string): ResolvedConfig {
  const file = path.join(dir, 'slipway.yml');
  if (!existsSync(file))
    throw new SlipwayError('config', 'the pushed commit has no slipway.yml', { hint: 'commit it, then push again' });
  const loaded = parseConfig(readFileSync(file, 'utf8'), 'slipway.yml');
  const cfg = resolveEnvironment({ ...loaded, dir }, environment, { onHost: true });
  const target = cfg.targets.find((t) => t.name === host);
  if (!target)
    throw new SlipwayError('config', `slipway.yml: environments.${environment} no longer lists ${host}`, {
      hint: `deploy from a laptop (slipway deploy ${environment}) to change an environment's hosts`,
    });
  if (cfg.appDir !== appDir)
    throw new SlipwayError('config', `slipway.yml: the app now lives in ${cfg.appDir}, not ${appDir}`, {
      hint: `run slipway setup ${environment} for the new place, and push to the repository it prints`,
    });
  const others = cfg.targets.filter((t) => t !== target).map((t) => t.name);
  if (others.length)
    say(`slipway: this push deploys ${host} only; slipway sync ${environment} brings ${others.join(', ')} to it`);
  return { ...cfg, targets: [{ name: host, kind: 'self', role: target.role }] };
}
