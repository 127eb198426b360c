// Pull mode: the agent looks at an app's source every `pull.interval` seconds (a webhook wakes it sooner), and
// deploys the next version (../sources/next.ts) with the engine's own deploy: the lock (held as the agent, with a
// lease), the guardrails, the health gate and the rollback. A version that fails is remembered as bad and never
// deployed again by the agent; one that could not be tried (the lock was held, the source was unreachable) is tried
// at the next look. Sources: signed artifacts in a channel, the commits of a git branch, or an image tag's digests.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { type DeployOptions, deploy } from '../engine/deploy.ts';
import { Events } from '../engine/events.ts';
import { withSession } from '../engine/session.ts';
import { windowRefusal } from '../engine/windows.ts';
import { AGENT } from '../server/layout.ts';
import { AGENT_USER } from '../server/lock.ts';
import { readState } from '../server/state.ts';
import { fetchArtifact, readChannel } from '../sources/artifacts.ts';
import { exportCommit, fetchBranch, isAncestor } from '../sources/git.ts';
import { type BadVersion, nextCommit, nextImage, nextPull } from '../sources/next.ts';
import { listTags, parseImage, pickTag, tagDigest } from '../sources/registry.ts';
import type { PullMemory } from './memory.ts';
import { deployLeaseMs, hostEnvFile } from './on-host.ts';
import { hostConfig } from './push-hook.ts';

type Pull = NonNullable<ResolvedConfig['pull']>;
type PullConfig = ResolvedConfig & { pull: Pull };

/** failures that say nothing about the version: it is tried again at the next look */
const NOT_THE_VERSION = new Set(['locked', 'connection', 'interrupted']);
/** bad versions remembered per app: the newest ones matter, the index keeps only 20 */
const KEEP_BAD = 50;

export interface PullContext {
  memory: PullMemory;
  save: () => void;
  log: (line: string) => void;
}

/** A version the source offers to deploy now: how to get it, and how it is remembered once tried. */
interface Offer {
  label: string;
  bad: Omit<BadVersion, 'why' | 'at'>;
  /** it waits for `slipway approve` (a rewritten branch), whatever pull.approval says */
  approval: boolean;
  /** fetch or export it: the config and options of its deploy */
  prepare(): Promise<{ cfg: ResolvedConfig; opts: Pick<DeployOptions, 'artifact' | 'commit'>; release?: string }>;
  /** it was deployed, or failed: the source's next look goes past it */
  tried(): void;
  cleanup(): void;
}

const sourceName = (cfg: PullConfig) => cfg.pull.source.artifacts ?? cfg.pull.source.git ?? cfg.pull.source.image ?? '';

/** One look at the app's source, and the deploy it calls for. */
export async function pullOnce(cfg: PullConfig, ctx: PullContext): Promise<void> {
  const m = ctx.memory;
  m.checkedAt = new Date().toISOString();
  let offer: Offer | undefined;
  try {
    offer = await lookAt(cfg, m);
  } catch (e) {
    m.problems = [`could not read ${sourceName(cfg)}: ${(e as Error).message}`];
    m.next = 'waiting for the source';
  }
  ctx.save();
  if (offer) await deployOffer(cfg, ctx, offer);
}

function lookAt(cfg: PullConfig, m: PullMemory): Promise<Offer | undefined> {
  if (cfg.pull.source.git !== undefined) return lookAtGit(cfg, m);
  if (cfg.pull.source.image !== undefined) return lookAtImage(cfg, m);
  return lookAtArtifacts(cfg, m);
}

async function lookAtArtifacts(cfg: PullConfig, m: PullMemory): Promise<Offer | undefined> {
  const source = cfg.pull.source.artifacts!;
  const { channel, problems } = await readChannel(source, cfg.app);
  m.problems = problems;
  m.offered = channel.releases.at(-1)?.release;
  const next = nextPull(channel.releases, {
    ...(await hostFacts(cfg)),
    app: cfg.app,
    environment: cfg.environment,
    publicKey: cfg.pull.public_key!,
    bad: m.bad,
    cooldownS: cfg.pull.cooldown,
    now: Date.now(),
    ...windowFact(cfg),
  });
  m.next =
    next.do === 'deploy'
      ? `deploying ${next.entry.release}`
      : next.do === 'hold'
        ? `${next.entry.release}: held: ${next.why}`
        : next.why;
  if (next.do !== 'deploy') return undefined;
  const { entry } = next;
  return {
    label: entry.release,
    bad: { release: entry.release, sha256: entry.sha256 },
    approval: false,
    prepare: async () => ({
      cfg,
      opts: { artifact: await fetchArtifact(source, entry, AGENT.pulled(cfg.app)) },
      release: entry.release,
    }),
    tried: () => undefined,
    cleanup: () => undefined,
  };
}

async function lookAtGit(cfg: PullConfig, m: PullMemory): Promise<Offer | undefined> {
  const { git: source = '', branch = 'main' } = cfg.pull.source;
  const dir = AGENT.git(cfg.app);
  const tip = await fetchBranch(source, branch, dir);
  const short = tip.sha.slice(0, 12);
  m.problems = [];
  m.offered = `${short} "${tip.subject}"`;
  const rewritten = !!m.tip && m.tip !== tip.sha && !(await isAncestor(dir, m.tip, tip.sha));
  const served = await servedSha(cfg);
  // the host serves the tip already: from now on only a newer one is deployed, not whatever a laptop deploys later
  if (!m.tip && served.servedSha === tip.sha) m.tip = tip.sha;
  const next = nextCommit({
    tip,
    ...(m.tip ? { lastTip: m.tip } : {}),
    ...served,
    rewritten,
    bad: m.bad,
    cooldownS: cfg.pull.cooldown,
    now: Date.now(),
    ...windowFact(cfg),
  });
  m.next = next.do === 'deploy' ? `deploying ${short}${next.why ? ` (${next.why})` : ''}` : next.why;
  if (next.do !== 'deploy') return undefined;
  const into = path.join(AGENT.pulled(cfg.app), short);
  return {
    label: short,
    bad: { commit: tip.sha },
    approval: next.approval,
    prepare: async () => {
      await exportCommit(tip.sha, into, dir);
      return {
        cfg: hostConfig(into, cfg.environment, cfg.targets[0]!.name, cfg.appDir),
        opts: { commit: { sha: tip.sha, subject: tip.subject } },
      };
    },
    tried: () => {
      m.tip = tip.sha;
    },
    cleanup: () => rmSync(into, { recursive: true, force: true }),
  };
}

/** The file an image release holds: the image it runs, by digest (the release's files are only this). */
const IMAGE_FILE = 'slipway-image.json';

async function lookAtImage(cfg: PullConfig, m: PullMemory): Promise<Offer | undefined> {
  const src = cfg.pull.source;
  const ref = parseImage(src.image!);
  const tag = pickTag(src.semver ? await listTags(ref, src.token_file) : [], src);
  m.problems = [];
  if (!tag) {
    m.offered = undefined;
    m.next = `no tag of ${ref.name} is in ${src.semver}${src.include || src.exclude ? ' (with the filters)' : ''}`;
    return undefined;
  }
  const digest = await tagDigest(ref, tag, src.token_file);
  const image = `${ref.name}@${digest}`;
  m.offered = `${tag}@${digest.slice(7, 19)}`;
  if (m.firstSeen?.digest !== digest) m.firstSeen = { digest, at: Date.now() };
  const next = nextImage({
    tag,
    digest,
    // what the host was last given by a deploy counts too: the same image is not deployed twice
    ...(m.tip || cfg.docker.image === image ? { lastDigest: m.tip ?? digest } : {}),
    firstSeenAt: m.firstSeen.at,
    bad: m.bad,
    cooldownS: cfg.pull.cooldown,
    now: Date.now(),
    ...windowFact(cfg),
  });
  m.next = next.do === 'deploy' ? `deploying ${m.offered}` : next.why;
  if (next.do !== 'deploy') return undefined;
  const into = path.join(AGENT.pulled(cfg.app), `image-${digest.slice(7, 19)}`);
  return {
    label: m.offered,
    bad: { image: digest },
    approval: false,
    prepare: async () => {
      mkdirSync(into, { recursive: true, mode: 0o755 });
      writeFileSync(path.join(into, IMAGE_FILE), `${JSON.stringify({ image, tag })}\n`);
      const docker = { ...cfg.docker, image };
      return { cfg: { ...cfg, dir: into, include: [IMAGE_FILE], exclude: [], build: [], docker }, opts: {} };
    },
    tried: () => {
      m.tip = digest;
    },
    cleanup: () => rmSync(into, { recursive: true, force: true }),
  };
}

/** Deploy the offered version; remember it as bad when it fails for what it is. */
async function deployOffer(cfg: PullConfig, ctx: PullContext, offer: Offer): Promise<void> {
  const { memory: m, log } = ctx;
  let envFile: Record<string, string>;
  try {
    envFile = hostEnvFile(cfg);
  } catch (e) {
    m.next = `${offer.label}: cannot be deployed here: ${(e as Error).message} → ${(e as SlipwayError).hint}`;
    return ctx.save();
  }
  log(`${cfg.app}: pulling ${offer.label} from ${sourceName(cfg)}`);
  try {
    const got = await offer.prepare();
    const r = await deploy(withApproval(got.cfg, offer.approval || cfg.pull.approval), quiet(log, cfg.app), {
      allowDirty: false,
      command: `slipway agent (pull: ${sourceName(cfg)})`,
      lockWait: 0,
      ...got.opts,
      onHost: {
        ...(got.release ? { release: got.release } : {}),
        envFile,
        lock: { user: AGENT_USER, expires: new Date(Date.now() + deployLeaseMs(cfg)).toISOString() },
      },
    });
    m.deployed = { release: r.release, at: new Date().toISOString() };
    m.next = `deployed ${offer.label === r.release ? r.release : `${offer.label} as ${r.release}`}`;
    offer.tried();
    log(`${cfg.app}: ${m.next}`);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!;
    if (e instanceof SlipwayError && NOT_THE_VERSION.has(e.kind)) {
      m.next = `${offer.label}: not deployed yet: ${why} (tried again at the next look)`;
    } else {
      m.bad = [...m.bad, { ...offer.bad, why, at: new Date().toISOString() }].slice(-KEEP_BAD);
      m.next = `${offer.label} failed and is not deployed again: ${why}`;
      offer.tried();
    }
    log(`${cfg.app}: ${m.next}`);
  } finally {
    offer.cleanup();
    ctx.save();
  }
}

/** What the host has had: only a newer version is pulled; what it marks bad is not. */
async function hostFacts(cfg: ResolvedConfig): Promise<{ since?: string; markedBad: string[] }> {
  const state = await hostState(cfg);
  const ids = [...state.releases.map((r) => r.id), ...(state.desired ? [state.desired.release] : [])].sort();
  return {
    ...(ids.length ? { since: ids.at(-1)! } : {}),
    markedBad: state.releases.filter((r) => r.status === 'bad').map((r) => r.id),
  };
}

/** The commit the host serves (from a laptop, a push or the agent): a branch at that commit has nothing new. */
async function servedSha(cfg: ResolvedConfig): Promise<{ servedSha?: string }> {
  const sha = (await hostState(cfg)).releases.find((r) => r.current)?.sha;
  return sha ? { servedSha: sha } : {};
}

const hostState = (cfg: ResolvedConfig) =>
  withSession(cfg, new Events(), (s) => readState(s.hosts[0]!, s.layout), { connectStep: false });

function windowFact(cfg: ResolvedConfig): { window?: string } {
  const refusal = windowRefusal(cfg.windows, new Date());
  return refusal ? { window: refusal } : {};
}

/** `pull.approval` (or a rewritten branch): the version waits for `slipway approve`, as `approval.required` does. */
function withApproval(cfg: ResolvedConfig, required: boolean): ResolvedConfig {
  if (!required) return cfg;
  return { ...cfg, approval: { ...cfg.approval, required: true } };
}

/** The deploy's warnings go to the agent's log; its progress does not. */
function quiet(log: (line: string) => void, app: string): Events {
  const events = new Events();
  events.subscribe((e) => {
    if (e.type === 'message' && e.level !== 'info') log(`${app}: ${e.text}`);
  });
  return events;
}
