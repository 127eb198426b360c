// Sync: bring every host of an environment to the release the environment was last given (the newest desired
// state on any of its hosts: a deploy, a rollback, an agent's restore), without a rebuild. A host that lacks the
// release (down during the deploy, added since) gets it copied from a peer that has it, checked against the
// manifest digest, then deployed with the usual guardrails and health gate; a host that has it but serves another
// one is switched to it as a rollback would. `setup` runs the first kind for hosts that never had a release.
import { agentResume } from '../agent/ask.ts';
import { agentWanted } from '../agent/install.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { environmentDesired } from '../server/desired.ts';
import { releaseFilesOn } from '../server/release.ts';
import type { HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { deploy } from './deploy.ts';
import type { Events } from './events.ts';
import type { PreparedRelease } from './prepare.ts';
import { fetchRelease } from './promote.ts';
import { rollback } from './rollback.ts';
import { eachHost, readStates, type Session, withSession } from './session.ts';

type SyncState = Pick<HostState, 'current' | 'desired' | 'releases' | 'manifests'>;

export interface SyncPlan {
  release: string;
  /** hosts that hold the release intact, best first: where a copy comes from */
  sources: string[];
  /** hosts without the release: it is copied to them and deployed */
  copy: string[];
  /** hosts that have it and serve another: switched to it */
  activate: string[];
  /** hosts whose copy of it has changed files: the copy is replaced with a peer's and deployed */
  repair: string[];
  /** hosts already there */
  synced: string[];
}

export interface SyncHost {
  host: string;
  state: SyncState;
  /** the host keeps the release, but its files no longer match its manifest */
  changed?: boolean;
}

/** The release the environment was last given: what a sync brings every host to. */
export function syncRelease(hosts: Omit<SyncHost, 'changed'>[]): string | undefined {
  return environmentDesired(hosts.map((h) => ({ host: h.host, desired: h.state.desired })))?.desired.release;
}

/**
 * What brings every host to the environment's release (pure); undefined when no host was ever given one.
 * `onlyNew`: catch up only the hosts that never had a release (what `setup` does).
 */
export function planSync(hosts: SyncHost[], onlyNew = false): SyncPlan | undefined {
  const id = syncRelease(hosts);
  if (!id) return undefined;
  const plan: SyncPlan = { release: id, sources: [], copy: [], activate: [], repair: [], synced: [] };
  const usable = (h: SyncHost) =>
    !h.changed && !!h.state.manifests[id] && h.state.releases.some((r) => r.id === id && r.status !== 'bad');
  // a host that serves the release as desired is the surest copy; one that only keeps it comes after
  const serving = (st: SyncState) => st.current === id && st.desired?.release === id;
  plan.sources = [
    ...hosts.filter((h) => usable(h) && serving(h.state)),
    ...hosts.filter((h) => usable(h) && !serving(h.state)),
  ].map((h) => h.host);
  for (const { host, state, changed } of hosts) {
    const isNew = !state.current && !state.desired;
    if (onlyNew && !isNew) continue;
    if (changed) plan.repair.push(host);
    else if (serving(state)) plan.synced.push(host);
    else if (state.releases.some((r) => r.id === id)) plan.activate.push(host);
    else plan.copy.push(host);
  }
  return plan;
}

export interface SyncResult extends Omit<SyncPlan, 'sources'> {
  /** the host the copy came from */
  source?: string;
}

export async function sync(
  cfg: ResolvedConfig,
  events: Events,
  opts: { command: string; lockWait?: number; force?: boolean; onlyNew?: boolean },
): Promise<SyncResult | undefined> {
  let release: PreparedRelease | undefined;
  try {
    // after a setup, the catch-up is silent until it has something to do
    const found = await withSession(
      cfg,
      events,
      async (s) => {
        const planned = await planAndFetch(s, opts.onlyNew ?? false);
        if (!opts.onlyNew) await resumeAgents(s);
        return planned;
      },
      { connectStep: !opts.onlyNew },
    );
    if (!found) return undefined;
    const { plan, fetched } = found;
    release = fetched?.release;
    const catchUp = [...plan.copy, ...plan.repair];
    if (!catchUp.length && !plan.activate.length) {
      if (!opts.onlyNew) events.info(`Every host of ${cfg.environment} is at ${plan.release}`);
      return { ...resultOf(plan), source: undefined };
    }
    if (catchUp.length) {
      const copied = release!;
      release = undefined; // the deploy cleans it up
      await deploy(only(cfg, catchUp), events, {
        allowDirty: false,
        command: opts.command,
        lockWait: opts.lockWait,
        force: opts.force,
        synced: async () => copied,
        replace: plan.repair,
      });
    }
    if (plan.activate.length)
      await rollback(only(cfg, plan.activate), events, {
        id: plan.release,
        command: opts.command,
        lockWait: opts.lockWait,
      });
    return { ...resultOf(plan), source: fetched?.from };
  } finally {
    release?.cleanup();
  }
}

const resultOf = ({ sources: _, ...rest }: SyncPlan) => rest;

/** An agent that stopped healing the app (it flapped) heals it again: a sync asks for the desired state now. */
async function resumeAgents(s: Session): Promise<void> {
  await eachHost(s.hosts, async (h) => {
    if (agentWanted(s.on(h).cfg, h)) await agentResume(h, s.cfg.app);
  });
}

/** Read every host, plan, and copy the release here from the first peer whose copy is intact. */
async function planAndFetch(
  s: Session,
  onlyNew: boolean,
): Promise<{ plan: SyncPlan; fetched?: { release: PreparedRelease; from: string } } | undefined> {
  const read = () => readStates(s);
  const hostNames = s.hosts.map((h) => h.name).join(', ');
  const states = onlyNew ? await read() : await s.events.step(`Read the state of ${hostNames}`, read);
  const hosts = s.hosts.map((h) => ({ host: h.name, state: states.get(h)! }));
  // a setup only adds hosts; a sync also finds copies of the release changed on their host
  const changed = onlyNew ? new Set<string>() : await changedCopies(s, states, syncRelease(hosts));
  const plan = planSync(
    hosts.map((h) => ({ ...h, changed: changed.has(h.host) })),
    onlyNew,
  );
  if (!plan) {
    if (onlyNew) return undefined;
    throw new SlipwayError('failure', `nothing was ever deployed to ${s.cfg.environment}: there is nothing to sync`, {
      hint: `slipway deploy ${s.cfg.environment}`,
    });
  }
  if (!plan.copy.length && !plan.repair.length) return { plan };
  for (const host of plan.repair)
    s.events.warn(
      `${host}: the files of ${plan.release} were changed on the host: they are replaced with a peer's copy ` +
        `(the changed folder is kept in ${s.layout.changed})`,
    );
  return { plan, fetched: await fetchFromPeers(s, plan, states) };
}

/** The hosts whose copy of the release no longer matches its manifest (each checks its own, at once). */
async function changedCopies(s: Session, states: Map<Host, HostState>, id: string | undefined): Promise<Set<string>> {
  const keeping = s.hosts.filter((h) => id && states.get(h)!.manifests[id]);
  if (!id || !keeping.length) return new Set();
  const names = keeping.map((h) => h.name).join(', ');
  const found = await s.events.step(`Check the files of ${id} on ${names}`, () =>
    eachHost(keeping, async (h) => ({
      host: h.name,
      files: await releaseFilesOn(h, s.layout, id, states.get(h)!.manifests[id]!),
    })),
  );
  return new Set(found.filter((f) => f.files === 'changed').map((f) => f.host));
}

/** The release from the first source whose files match their manifest; a changed copy is passed over, said. */
async function fetchFromPeers(
  s: Session,
  plan: SyncPlan,
  states: Map<Host, HostState>,
): Promise<{ release: PreparedRelease; from: string }> {
  const sources = plan.sources.map((name) => s.hosts.find((h) => h.name === name)!);
  for (const h of sources) {
    const state = states.get(h)!;
    const info = state.releases.find((r) => r.id === plan.release)!;
    try {
      const release = await s.events.step(`Fetch ${plan.release} from ${h.name}`, () =>
        fetchRelease(h, s.layout, plan.release, state.manifests[plan.release]!, info, s.cfg),
      );
      return { release, from: h.name };
    } catch (e) {
      if (!(e instanceof SlipwayError) || e.kind === 'interrupted') throw e;
      s.events.warn(`${h.name}: ${e.message}; trying the next host`);
    }
  }
  throw new SlipwayError('failure', `no host of ${s.cfg.environment} holds an intact copy of ${plan.release}`, {
    hint: `deploy a new release: slipway deploy ${s.cfg.environment}`,
  });
}

/**
 * The environment narrowed to some of its hosts. The release was approved when the environment was given it, so
 * catching a host up does not ask again.
 */
function only(cfg: ResolvedConfig, names: string[]): ResolvedConfig {
  return {
    ...cfg,
    targets: cfg.targets.filter((t) => names.includes(t.name)),
    approval: { ...cfg.approval, required: false },
  };
}
