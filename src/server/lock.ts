// One deploy at a time per app and host: mkdir is the atomic test-and-set.
// The lock records who holds it; a lock whose process is provably dead (same
// machine, pid gone) is taken over with a warning, any other is reported.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { SlipwayError } from '../errors.ts';
import type { Host } from '../transport/host.ts';
import { andThen, NOT_SET_UP, script, sh, type Layout } from './layout.ts';
import RELEASE_IF from '../scripts/lock-release-if.sh';
import ACQUIRE_BODY from '../scripts/lock-acquire.sh';

export interface LockInfo {
  user: string;
  machine: string;
  pid: number;
  time: string;
  command: string;
  token: string;
  /** a lease (ISO time): past it, the lock is stale wherever it is seen (the agent's locks carry one) */
  expires?: string;
}

const HELD = 41;

/** The user the agent's locks, records and desired states are by. */
export const AGENT_USER = 'slipway-agent';

// All or nothing: the lock is written whole in a folder of its own, then renamed into place, so
// a full disk or a kill mid-write leaves no lock without its holder (an old empty one is replaced).
const ACQUIRE = script({ NOT_SET_UP, HELD }, ACQUIRE_BODY);

// Remove the lock only if it still carries the expected token (ours, or the stale one we saw).

export function newLockInfo(command: string): LockInfo {
  return {
    user: os.userInfo().username,
    machine: os.hostname(),
    pid: process.pid,
    time: new Date().toISOString(),
    command,
    token: randomUUID(),
  };
}

export function describeHolder(info: Partial<LockInfo>): string {
  if (!info.user) return 'another deploy (no details recorded)';
  return `${info.user}@${info.machine} (pid ${info.pid}) since ${info.time}, running \`${info.command}\``;
}

/** Held by a deploy that provably still runs: on this machine, its process alive. */
export function isRunningHere(info: Partial<LockInfo>, machine = os.hostname()): boolean {
  return info.machine === machine && typeof info.pid === 'number' && !isStale(info, machine);
}

/** Provably stale: its lease ran out, or taken on this machine by a process that no longer exists. */
export function isStale(info: Partial<LockInfo>, machine = os.hostname(), now = Date.now()): boolean {
  if (info.expires && Date.parse(info.expires) < now) return true;
  if (info.machine !== machine || typeof info.pid !== 'number') return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Take the lock, waiting up to waitSeconds and taking over a provably stale one.
 * `then` runs on the host right after the lock is taken, in the same round trip
 * (reading the state); its output is returned. It must not fail.
 */
export async function acquireLock(
  host: Host,
  l: Layout,
  info: LockInfo,
  opts: {
    waitSeconds: number;
    onWait?: (holder: string) => void;
    onStale?: (holder: string) => void;
    followedBy?: string[];
  },
): Promise<string> {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  let announced = false;
  const argv = opts.followedBy ? andThen(sh(ACQUIRE, l.lock, l.meta), opts.followedBy) : sh(ACQUIRE, l.lock, l.meta);
  for (;;) {
    const r = await host.run(argv, { input: JSON.stringify(info), reject: false });
    if (r.exitCode === 0) return r.stdout;
    if (r.exitCode === NOT_SET_UP) throw notSetUp(host, l);
    if (r.exitCode !== HELD)
      throw new SlipwayError('failure', `${host.name}: could not take the deploy lock: ${r.stderr.trim()}`);
    let holder: Partial<LockInfo> = {};
    try {
      holder = JSON.parse(r.stdout) as Partial<LockInfo>;
    } catch {
      /* written by a process that died mid-write */
    }
    if (isStale(holder)) {
      opts.onStale?.(describeHolder(holder));
      await host.run(sh(RELEASE_IF, l.lock, holder.token ?? ''));
      continue;
    }
    // a heal is short and its lease bounds it: waited for, whatever --lock-wait says
    const healUntil = holder.user === AGENT_USER && holder.expires ? Date.parse(holder.expires) : 0;
    if (Date.now() >= Math.max(deadline, healUntil)) {
      throw new SlipwayError('locked', `${host.name}: deploy lock held by ${describeHolder(holder)}`, {
        hint: `wait and retry, pass --lock-wait SECONDS, or if that deploy is gone: slipway lock release <env>`,
      });
    }
    if (!announced) opts.onWait?.(describeHolder(holder));
    announced = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function releaseLockArgv(l: Layout, token: string): string[] {
  return sh(RELEASE_IF, l.lock, token);
}

export async function releaseLock(host: Host, l: Layout, token: string): Promise<void> {
  await host.run(releaseLockArgv(l, token));
}

/** the file in the lock's folder that says who holds it */
export const lockInfoFile = (l: Layout) => `${l.lock}/info.json`;

export async function readLock(host: Host, l: Layout): Promise<Partial<LockInfo> | undefined> {
  const r = await host.run(['cat', lockInfoFile(l)], { reject: false });
  if (r.exitCode !== 0) {
    const exists = await host.run(['test', '-d', l.lock], { reject: false });
    return exists.exitCode === 0 ? {} : undefined;
  }
  try {
    return JSON.parse(r.stdout) as Partial<LockInfo>;
  } catch {
    return {};
  }
}

export async function forceReleaseLock(host: Host, l: Layout): Promise<void> {
  await host.run(['rm', '-rf', l.lock]);
}

export function notSetUp(host: Host, l: Layout): SlipwayError {
  return new SlipwayError('failure', `${host.name}: ${l.appDir} is not set up`, { hint: 'run: slipway setup <env>' });
}
