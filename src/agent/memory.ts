// What the agent remembers across restarts, per app, in one file written whole and renamed into place: a kill -9
// leaves the previous version, never half of one.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { backoff, FLAP } from '../engine/reconcile.ts';
import type { BadVersion } from '../sources/next.ts';

/** What the agent knows of an app's pull source: what it offers, what was done with it, what is never deployed. */
export interface PullMemory {
  checkedAt?: string;
  /** paused from the dashboard: the source is not looked at (healing goes on) */
  paused?: boolean;
  /** the newest release the source offers */
  offered?: string;
  /** what the last look decided: deploying, held and why, nothing newer */
  next?: string;
  /** the source could not be read, or an entry of its index was not well-formed */
  problems?: string[];
  deployed?: { release: string; at: string };
  /** a git or image source: the last commit or digest deployed or tried (a new one is what comes next) */
  tip?: string;
  /** an image source: when the digest the tag points at was first seen (its cooldown counts from then) */
  firstSeen?: { digest: string; at: number };
  /** versions that failed here: never deployed again by the agent */
  bad: BadVersion[];
}

export interface AppMemory {
  /** when the agent healed the app (ms), within the flap window */
  heals: number[];
  /** heals since the app was last seen as it should be: the backoff's exponent */
  attempts: number;
  /** no heal before this time (ms) */
  nextAt: number;
  /** healing stopped (flapping) at this desired generation: resumed by a deploy, a sync or `resume` */
  halted?: number;
  /** what the agent cannot heal, and the command that does */
  degraded?: { why: string; fix: string; since: string };
  lastHeal?: { at: string; found: string[]; did: string[]; ms: number; ok: boolean };
  lastCheck?: string;
  /** the last thing the agent did to the app was a heal: its health check now counts */
  afterHeal?: boolean;
  pull?: PullMemory;
}

export type Memory = Record<string, AppMemory>;

export function fresh(): AppMemory {
  return { heals: [], attempts: 0, nextAt: 0 };
}

/** One of the agent's root-only JSON files, or `empty` when it is missing or unreadable. */
export function loadJson<T>(file: string, empty: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return empty;
  }
}

/** Every `*.json` file of a folder that parses (none when the folder is missing). */
export function loadJsonFiles<T>(dir: string): T[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const v = loadJson<T | undefined>(path.join(dir, n), undefined);
    return v === undefined ? [] : [v];
  });
}

/** Written whole (0600, in a 0700 folder) and renamed into place. */
export function saveJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
  renameSync(tmp, file);
}

export const loadMemory = (file: string): Memory => loadJson<Memory>(file, {});

export const saveMemory = (file: string, memory: Memory): void => saveJson(file, memory);

/** A heal was made at `now`: counted for the flap limit, and the next one waits longer (pure). */
export function afterHealing(m: AppMemory, now: number): AppMemory {
  const attempts = m.attempts + 1;
  return {
    ...m,
    heals: [...m.heals.filter((t) => now - t < FLAP.windowMs), now],
    attempts,
    nextAt: now + backoff(attempts - 1) * 1000,
    afterHeal: true,
  };
}

/** The app is as it should be: the backoff starts over and nothing is reported (pure). */
export function settled(m: AppMemory): AppMemory {
  const { degraded: _degraded, ...rest } = m;
  return { ...rest, attempts: 0, nextAt: 0, afterHeal: false };
}
