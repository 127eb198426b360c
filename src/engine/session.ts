// A session: the resolved config, its hosts connected (one SSH master each),
// the runtime, the events, and interrupt handling. Engines run inside one.
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { runtimeFor } from '../runtime/index.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { andThen, layout, type Layout } from '../server/layout.ts';
import { acquireLock, newLockInfo, releaseLock, releaseLockArgv, type LockInfo } from '../server/lock.ts';
import { parseState, readState, stateArgv, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { LocalHost } from '../transport/local.ts';
import { openFeed } from './live.ts';
import { SelfHost } from '../transport/self.ts';
import { SshHost } from '../transport/ssh.ts';

export interface Session {
  cfg: ResolvedConfig;
  hosts: Host[];
  runtime: Runtime;
  layout: Layout;
  events: Events;
  /** throws an "interrupted" error once the run was cancelled (Ctrl-C, SIGTERM: the events's signal) */
  checkInterrupted(): void;
  interrupted(): boolean;
  /** the session as seen from one host: its role's settings and runtime */
  on(host: Host): Session;
  /** hosts left out because they could not be reached (only with `allowUnreachable`) */
  unreachable: { host: string; reason: string }[];
}

export function makeHosts(cfg: ResolvedConfig, events: Events): Host[] {
  const signal = events.signal;
  return cfg.targets.map((t) => {
    if (t.kind === 'local') return new LocalHost(t, events.command, signal);
    if (t.kind === 'self') return new SelfHost(t, events.command, signal);
    return new SshHost(t, { configFile: cfg.ssh.config_file, persist: cfg.ssh.persist, signal }, events.command);
  });
}

/**
 * Run fn on every host, at most `limit` at a time; if any fails, let the
 * running ones finish, start no more, then throw the first error.
 */
export async function eachHost<T>(
  hosts: Host[],
  fn: (host: Host, index: number) => Promise<T>,
  limit = Infinity,
): Promise<T[]> {
  const results: PromiseSettledResult<T>[] = new Array(hosts.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < hosts.length && !failed) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(hosts[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, hosts.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r?.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Every host's state, read side by side. */
export async function readStates(s: Session): Promise<Map<Host, HostState>> {
  const states = new Map<Host, HostState>();
  await eachHost(s.hosts, async (h) => void states.set(h, await readState(h, s.layout)));
  return states;
}

/** Rolling groups: `limit` hosts (or that percentage of them, at least one) per group, in order. */
export function rolloutGroups<T>(hosts: T[], limit: number | string | undefined): T[][] {
  if (limit === undefined) return [hosts];
  const size =
    typeof limit === 'number' ? limit : Math.max(1, Math.ceil((hosts.length * Number(limit.replace('%', ''))) / 100));
  const groups: T[][] = [];
  for (let i = 0; i < hosts.length; i += size) groups.push(hosts.slice(i, i + size));
  return groups;
}

/**
 * Connect to the config's hosts, run fn, and close the connections on every
 * path. `meanwhile` runs local work (building the release) while the
 * connections are being made.
 */
export async function withSession<T>(
  cfg: ResolvedConfig,
  events: Events,
  fn: (s: Session) => Promise<T>,
  opts: { connectStep?: boolean; meanwhile?: () => Promise<void>; hosts?: Host[]; allowUnreachable?: boolean } = {},
): Promise<T> {
  // `hosts`: already made, for the config's targets (a test's recording host)
  const all = opts.hosts ?? makeHosts(cfg, events);
  // the hosts' running commands are stopped by the same signal: that makes them fail, which is the interrupt
  const cancel = events.signal;
  const why = () => (cancel?.aborted ? String(cancel.reason) : undefined);
  const onAbort = () => events.warn(`${why()} received: stopping, cleaning up (press Ctrl-C again to leave at once)`);
  cancel?.addEventListener('abort', onAbort, { once: true });
  const views = new Map<string, Session>();
  const session: Session = {
    cfg,
    hosts: [...all],
    runtime: runtimeFor(cfg),
    layout: layout(cfg.appDir),
    events,
    unreachable: [],
    interrupted: () => !!cancel?.aborted,
    checkInterrupted: () => {
      if (cancel?.aborted) throw new SlipwayError('interrupted', `interrupted by ${why()}`);
    },
    on: (host) => {
      const role = host.target.role;
      const roleCfg = cfg.roles[role];
      if (!roleCfg) return session;
      let view = views.get(role);
      if (!view) views.set(role, (view = { ...session, cfg: roleCfg, runtime: runtimeFor(roleCfg) }));
      return view;
    },
  };
  // never rejects: the outcome is awaited below, and again before closing
  const connecting = connectAll(all, session, cfg.rollout.concurrency, opts.allowUnreachable ?? false);
  try {
    await opts.meanwhile?.();
    const connected = async () => {
      const c = await connecting;
      if (c.failed) throw c.reason;
    };
    if (opts.connectStep === false) await connected();
    else await events.step(`Connect to ${all.map((h) => h.name).join(', ')}`, connected);
    return await fn(session);
  } catch (e) {
    // killing the running commands makes them fail or lose their connection: that is the interrupt
    if (cancel?.aborted && !(e instanceof SlipwayError && e.kind !== 'failure' && e.kind !== 'connection'))
      throw new SlipwayError('interrupted', `interrupted by ${why()}`, { cause: e });
    throw e;
  } finally {
    await connecting; // a connection still being made is closed too, not left behind
    await Promise.all(all.map((h) => h.close().catch(() => undefined)));
    cancel?.removeEventListener('abort', onAbort);
  }
}

/** Connect every host; with `allowUnreachable`, the session goes on with those that answered. Never rejects. */
function connectAll(
  all: Host[],
  session: Session,
  limit: number,
  allowUnreachable: boolean,
): Promise<{ failed: false } | { failed: true; reason: unknown }> {
  const lost = new Map<Host, SlipwayError>();
  const connect = allowUnreachable ? (h: Host) => connectOrLeaveOut(h, lost) : (h: Host) => h.connect();
  return eachHost(all, connect, limit).then(
    () => {
      // with no host left there is nothing to go on with: the first one's own error says why
      if (lost.size === all.length) return { failed: true as const, reason: lost.get(all[0]!) };
      leaveOut(session.hosts, lost, session.unreachable);
      return { failed: false as const };
    },
    (reason: unknown) => ({ failed: true as const, reason }),
  );
}

/** Connect; a host the network cannot reach (not one refused for its key or login) is noted, to be left out. */
async function connectOrLeaveOut(h: Host, lost: Map<Host, SlipwayError>): Promise<void> {
  try {
    await h.connect();
  } catch (e) {
    if (!(e instanceof SlipwayError && e.kind === 'connection')) throw e;
    lost.set(h, e);
  }
}

/** The session goes on with the hosts that answered; the others are named, with why. */
function leaveOut(hosts: Host[], lost: Map<Host, SlipwayError>, unreachable: Session['unreachable']): void {
  hosts.splice(0, hosts.length, ...hosts.filter((h) => !lost.has(h)));
  for (const [h, e] of lost) unreachable.push({ host: h.name, reason: e.message });
}

/** What holding the lock gives: each host's state, read with the lock, and a way to end with the unlock. */
export interface Held {
  info: LockInfo;
  states: Map<Host, HostState>;
  /** run argv (stdin: input) and release the host's lock in the same round trip */
  finish(host: Host, argv: string[], input?: string): Promise<void>;
}

/**
 * Run fn holding the deploy lock on every host: taken atomically per host
 * (waiting up to waitSeconds, taking over provably stale locks) together with
 * reading the host's state, released on every path, failures and interrupts
 * included.
 */
export async function withLock<T>(
  s: Session,
  command: string,
  waitSeconds: number | undefined,
  fn: (held: Held) => Promise<T>,
  as?: Partial<Pick<LockInfo, 'user' | 'expires'>>,
): Promise<T> {
  const info: LockInfo = { ...newLockInfo(command), ...as };
  const locked = new Set<Host>();
  const states = new Map<Host, HostState>();
  // from before the lock is taken: a run waiting for it shows on the dashboard as queued
  const feed = openFeed(s, info);
  try {
    await s.events.step(
      'Lock',
      () =>
        eachHost(s.hosts, async (h) => {
          const out = await acquireLock(h, s.layout, info, {
            waitSeconds: waitSeconds ?? s.cfg.lock_wait,
            onWait: (holder) => s.events.info(`  ${h.name}: waiting for the deploy lock held by ${holder}`),
            onStale: (holder) => s.events.warn(`${h.name}: taking over a stale lock left by ${holder}`),
            followedBy: stateArgv(s.layout, true),
          });
          locked.add(h);
          states.set(h, parseState(out));
        }),
      'lock',
    );
    return await fn({
      info,
      states,
      finish: async (h, argv, input) => {
        await h.run(andThen(argv, releaseLockArgv(s.layout, info.token)), { input });
        locked.delete(h);
      },
    });
  } finally {
    await Promise.all(
      [...locked].map((h) =>
        releaseLock(h, s.layout, info.token).catch(() =>
          s.events.warn(`${h.name}: could not release the deploy lock; run: slipway lock release ${s.cfg.environment}`),
        ),
      ),
    );
    await feed.close();
  }
}
