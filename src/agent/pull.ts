// Pull mode: the agent looks at an app's source every `pull.interval` seconds (a webhook wakes it sooner), and
// deploys the next version (../sources/next.ts) with the engine's own deploy: the lock (held as the agent, with a
// lease), the guardrails, the health gate and the rollback. A version that fails is remembered as bad and never
// deployed again by the agent; one that could not be tried (the lock was held, the source was unreachable) is tried
// at the next look.
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { deploy } from '../engine/deploy.ts';
import { Events } from '../engine/events.ts';
import { withSession } from '../engine/session.ts';
import { windowRefusal } from '../engine/windows.ts';
import { AGENT } from '../server/layout.ts';
import { AGENT_USER } from '../server/lock.ts';
import { readState } from '../server/state.ts';
import { fetchArtifact, readChannel } from '../sources/artifacts.ts';
import { nextPull, type PullNext } from '../sources/next.ts';
import type { PullMemory } from './memory.ts';
import { deployLeaseMs, hostEnvFile } from './on-host.ts';

type Pull = NonNullable<ResolvedConfig['pull']>;

/** failures that say nothing about the version: it is tried again at the next look */
const NOT_THE_VERSION = new Set(['locked', 'connection', 'interrupted']);
/** bad versions remembered per app: the newest ones matter, the index keeps only 20 */
const KEEP_BAD = 50;

export interface PullContext {
  memory: PullMemory;
  save: () => void;
  log: (line: string) => void;
}

/** One look at the app's source, and the deploy it calls for. */
export async function pullOnce(cfg: ResolvedConfig & { pull: Pull }, ctx: PullContext): Promise<void> {
  const { memory: m, log } = ctx;
  const source = cfg.pull.source.artifacts!;
  m.checkedAt = new Date().toISOString();
  let next: PullNext;
  try {
    const { channel, problems } = await readChannel(source, cfg.app);
    m.problems = problems;
    m.offered = channel.releases.at(-1)?.release;
    next = nextPull(channel.releases, {
      ...(await hostFacts(cfg)),
      app: cfg.app,
      environment: cfg.environment,
      publicKey: cfg.pull.public_key,
      bad: m.bad,
      cooldownS: cfg.pull.cooldown,
      now: Date.now(),
      ...windowFact(cfg),
    });
  } catch (e) {
    m.problems = [`could not read ${source}: ${(e as Error).message}`];
    m.next = 'waiting for the source';
    ctx.save();
    return;
  }
  m.next =
    next.do === 'deploy'
      ? `deploying ${next.entry.release}`
      : next.do === 'hold'
        ? `${next.entry.release}: held: ${next.why}`
        : next.why;
  ctx.save();
  if (next.do !== 'deploy') return;
  const { entry } = next;
  let envFile: Record<string, string>;
  try {
    envFile = hostEnvFile(cfg);
  } catch (e) {
    m.next = `${entry.release}: cannot be deployed here: ${(e as Error).message} → ${(e as SlipwayError).hint}`;
    return ctx.save();
  }
  log(`${cfg.app}: pulling ${entry.release} from ${source}`);
  try {
    const file = await fetchArtifact(source, entry, AGENT.pulled(cfg.app));
    await deploy(withPullApproval(cfg), quiet(log, cfg.app), {
      allowDirty: false,
      artifact: file,
      command: `slipway agent (pull: ${source})`,
      lockWait: 0,
      onHost: {
        release: entry.release,
        envFile,
        lock: { user: AGENT_USER, expires: new Date(Date.now() + deployLeaseMs(cfg)).toISOString() },
      },
    });
    m.deployed = { release: entry.release, at: new Date().toISOString() };
    m.next = `deployed ${entry.release}`;
    log(`${cfg.app}: deployed ${entry.release}`);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!;
    if (e instanceof SlipwayError && NOT_THE_VERSION.has(e.kind)) {
      m.next = `${entry.release}: not deployed yet: ${why} (tried again at the next look)`;
    } else {
      m.bad = [...m.bad, { release: entry.release, sha256: entry.sha256, why, at: new Date().toISOString() }].slice(
        -KEEP_BAD,
      );
      m.next = `${entry.release} failed and is not deployed again: ${why}`;
    }
    log(`${cfg.app}: ${m.next}`);
  } finally {
    ctx.save();
  }
}

/** What the host has had: only a newer version is pulled; what it marks bad is not. */
async function hostFacts(cfg: ResolvedConfig): Promise<{ since?: string; markedBad: string[] }> {
  const state = await withSession(cfg, new Events(), (s) => readState(s.hosts[0]!, s.layout), { connectStep: false });
  const ids = [...state.releases.map((r) => r.id), ...(state.desired ? [state.desired.release] : [])].sort();
  return {
    ...(ids.length ? { since: ids.at(-1)! } : {}),
    markedBad: state.releases.filter((r) => r.status === 'bad').map((r) => r.id),
  };
}

function windowFact(cfg: ResolvedConfig): { window?: string } {
  const refusal = windowRefusal(cfg.windows, new Date());
  return refusal ? { window: refusal } : {};
}

/** `pull.approval`: every pulled version waits for `slipway approve`, as `approval.required` makes any deploy. */
function withPullApproval(cfg: ResolvedConfig & { pull: Pull }): ResolvedConfig {
  if (!cfg.pull.approval) return cfg;
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
