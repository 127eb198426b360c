// `slipway plan ENV`: every step a deploy would run on every host, worked out
// from the working tree and each host's state, read without taking the lock.
// Nothing runs that changes anything: no build, no check, no lock, no write.
import type { ResolvedConfig } from '../config/load.ts';
import { gitInfo } from '../release/git.ts';
import { describeHolder, readLock } from '../server/lock.ts';
import { type HostState, readState } from '../server/state.ts';
import { readSecrets } from '../secrets/store.ts';
import type { Host } from '../transport/host.ts';
import { builtDeps, localPlatform } from './deps.ts';
import type { Events } from './events.ts';
import { DEPLOY_PHASES } from './phases/index.ts';
import { hostView, type PlanLocal, type PlanStep } from './phases/phase.ts';
import { installKey, ownOutput, selectRelease } from './prepare.ts';
import { eachHost, rolloutGroups, type Session, withSession } from './session.ts';
import { missingAppCommands } from './setup.ts';
import { windowRefusal } from './windows.ts';

export type { PlanStep };

/** One host's part: the deploy's phases that do something there, in order, and their steps. */
type PlanSteps = { phases: string[]; steps: PlanStep[] };

export interface Plan {
  environment: string;
  /** steps before any host is touched */
  local: PlanStep[];
  hosts: ({ host: string; role: string; current?: string } & PlanSteps)[];
  /** after every host: record, prune, notify */
  after: PlanStep[];
}

export async function plan(cfg: ResolvedConfig, events: Events): Promise<Plan> {
  const local: PlanStep[] = [windowStep(cfg)];
  for (const c of cfg.checks.filter((x) => x.on === 'local'))
    local.push({
      step: 'check',
      on: 'local',
      command: c.run,
      text: `Check here: ${c.run} (must pass; up to ${c.timeout}s)`,
    });
  const git = await gitInfo(cfg.dir, ownOutput(cfg));
  if (git?.dirty)
    local.push({
      step: 'dirty',
      changes: git.changes.length,
      text: `Uncommitted changes (${git.changes.length}): the deploy would stop unless --allow-dirty`,
    });
  for (const b of cfg.build) local.push({ step: 'build', command: b, text: `Build here: ${b}` });
  const { files, manifest } = await selectRelease(cfg);
  const built = cfg.build.length ? ' (as the tree is now; the build may change them)' : '';
  const at = git?.sha ? ` at ${git.sha.slice(0, 7)} "${git.subject}"` : '';
  local.push({
    step: 'release',
    files: files.length,
    sha: git?.sha,
    text: `Release: ${files.length} files${built}${at}`,
  });
  const key = installKey(cfg, cfg.dir, files);
  const here: PlanLocal = { files, manifest, key, secrets: Object.keys(await readSecrets(cfg)) };
  if (cfg.install.command && cfg.install.once) {
    here.deps = await builtDeps(cfg, { id: 'plan', srcDir: cfg.dir, files, manifest, installKey: key });
    const how = here.deps ? 'reused: built here for this lockfile' : 'runs: nothing built here for this lockfile yet';
    local.push({
      step: 'install',
      on: 'local',
      command: cfg.install.command,
      cached: !!here.deps,
      text: `Install here, once: ${cfg.install.command} (${how}; shipped to hosts of ${localPlatform()})`,
    });
  }

  const hosts = await withSession(
    cfg,
    events,
    async (s) =>
      eachHost(s.hosts, async (h) => {
        const state = await readState(h, s.layout);
        return { host: h.name, role: h.target.role, current: state.current, ...(await hostSteps(s, h, state, here)) };
      }),
    { connectStep: false },
  );
  return { environment: cfg.environment, local, hosts, after: afterSteps(cfg) };
}

function windowStep(cfg: ResolvedConfig): PlanStep {
  const refusal = windowRefusal(cfg.windows, new Date(), cfg.file);
  if (refusal)
    return {
      step: 'window',
      open: false,
      text: `Deploy window: ${refusal}: the deploy would stop here (--force overrides)`,
    };
  const set = cfg.windows.allow.length || cfg.windows.block.length;
  return { step: 'window', open: true, text: `Deploy window: ${set ? 'open now' : 'none set'}` };
}

/** Every phase a deploy would run on one host, in order, and its steps, from what is on it now. */
async function hostSteps(s: Session, h: Host, state: HostState, here: PlanLocal): Promise<PlanSteps> {
  const lock = await readLock(h, s.layout);
  const steps: PlanStep[] = [
    lock
      ? {
          step: 'lock',
          held_by: describeHolder(lock),
          text: `Lock: held by ${describeHolder(lock)}: the deploy would wait or fail`,
        }
      : { step: 'lock', text: 'Lock' },
  ];
  const missing = await missingAppCommands(h, s.on(h).cfg);
  if (missing.length) {
    const how = missing.map((m) => `${m.command} (${m.pkg ? `setup installs ${m.pkg}` : 'install it yourself'})`);
    steps.push({
      step: 'commands',
      missing: missing.map((m) => m.command),
      text: `Missing on the host: ${how.join(', ')}: the deploy would fail until \`slipway setup\` or an install`,
    });
  }
  const cfg = s.cfg;
  const receivesDeps = cfg.install.once && !!cfg.install.command && state.platform === localPlatform();
  const view = hostView(s, h, receivesDeps);
  const phases = ['lock'];
  for (const p of DEPLOY_PHASES.filter((x) => x.applies(view))) {
    phases.push(p.name);
    steps.push(...(await p.describe({ s, h, state, here, view })));
  }
  return { phases, steps };
}

function afterSteps(cfg: ResolvedConfig): PlanStep[] {
  const after: PlanStep[] = [];
  const groups = rolloutGroups(
    cfg.targets.map((t) => t.name),
    cfg.rollout.limit,
  );
  if (groups.length > 1) {
    const pause = cfg.rollout.pause ? `, ${cfg.rollout.pause}s apart` : '';
    after.push({
      step: 'rolling',
      groups,
      text: `Rolling: ${groups.map((g) => `[${g.join(', ')}]`).join(' then ')}${pause}`,
    });
  }
  if (cfg.webhooks.length) {
    const approval = cfg.approval.required ? ', waiting for approval' : '';
    after.push({
      step: 'webhooks',
      count: cfg.webhooks.length,
      text: `Webhooks: ${cfg.webhooks.length} notified (started, succeeded or failed${approval})`,
    });
  }
  return after;
}

export function renderPlan(p: Plan): string {
  const lines = [`Plan for ${p.environment} (nothing has been changed):`, ...p.local.map((l) => `  ${l.text}`)];
  for (const h of p.hosts) {
    lines.push(`  ${h.host} (role ${h.role}, current ${h.current ?? 'none'}):`);
    for (const s of h.steps) lines.push(`    ${s.text}`);
  }
  lines.push(...p.after.map((l) => `  ${l.text}`));
  return `${lines.join('\n')}\n`;
}
