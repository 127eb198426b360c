// `slipway plan ENV`: every step a deploy would run on every host, worked out
// from the working tree and each host's state, read without taking the lock.
// Nothing runs that changes anything: no build, no check, no lock, no write.
import type { ResolvedConfig } from '../config/load.ts';
import type { Events } from './events.ts';
import { formatBytes } from '../text.ts';
import { isProxied } from '../proxy/caddy.ts';
import { diffManifests, type Manifest, manifestStore, parseManifest } from '../release/content.ts';
import { gitInfo } from '../release/git.ts';
import { chooseBase } from '../release/transfer.ts';
import { readLock, describeHolder } from '../server/lock.ts';
import { afterDeploy, type HostState, planPrune, readState } from '../server/state.ts';
import type { HistoryRecord } from '../server/history.ts';
import type { Host } from '../transport/host.ts';
import { readSecrets } from '../secrets/store.ts';
import { type BuiltDeps, builtDeps, isInstallPath, localPlatform } from './deps.ts';
import { describeCondition } from './guardrails.ts';
import { installKey, ownOutput, selectRelease } from './prepare.ts';
import { eachHost, rolloutGroups, type Session, withSession } from './session.ts';
import { missingAppCommands } from './setup.ts';
import { windowRefusal } from './windows.ts';

/** One step of the plan: what it is (`step`), a sentence for people (`text`), and its figures for scripts. */
export interface PlanStep {
  step: string;
  text: string;
  [detail: string]: unknown;
}

export interface Plan {
  environment: string;
  /** steps before any host is touched */
  local: PlanStep[];
  hosts: { host: string; role: string; current?: string; steps: PlanStep[] }[];
  /** after every host: record, prune, notify */
  after: PlanStep[];
}

type Local = { files: string[]; manifest: Manifest; key: string; deps?: BuiltDeps; secrets: string[] };

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
  const here: Local = { files, manifest, key, secrets: Object.keys(await readSecrets(cfg)) };
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
        return { host: h.name, role: h.target.role, current: state.current, steps: await hostSteps(s, h, state, here) };
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

/** Every step a deploy would take on one host, in order, from what is on it now. */
async function hostSteps(s: Session, h: Host, state: HostState, here: Local): Promise<PlanStep[]> {
  const { cfg: role, runtime } = s.on(h);
  const cfg = s.cfg;
  const steps: PlanStep[] = [];
  const lock = await readLock(h, s.layout);
  steps.push(
    lock
      ? {
          step: 'lock',
          held_by: describeHolder(lock),
          text: `Lock: held by ${describeHolder(lock)}: the deploy would wait or fail`,
        }
      : { step: 'lock', text: 'Lock' },
  );
  const missing = await missingAppCommands(h, role);
  if (missing.length) {
    const how = missing.map((m) => `${m.command} (${m.pkg ? `setup installs ${m.pkg}` : 'install it yourself'})`);
    steps.push({
      step: 'commands',
      missing: missing.map((m) => m.command),
      text: `Missing on the host: ${how.join(', ')}: the deploy would fail until \`slipway setup\` or an install`,
    });
  }
  for (const c of cfg.checks.filter((x) => x.on === 'host'))
    steps.push({ step: 'check', on: 'host', command: c.run, text: `Check: ${c.run}` });
  const shipsDeps = cfg.install.once && !!cfg.install.command && state.platform === localPlatform();
  steps.push(await transferStep(s, h, state, here, shipsDeps));
  steps.push(finalizeStep(role, here.secrets));
  const configure = await runtime.describeConfigure?.(h, role);
  if (configure) steps.push({ step: 'configure', text: configure });
  if (role.install.command && !shipsDeps) {
    const { exitCode } = here.key
      ? await h.run(['test', '-d', `${s.layout.installCache}/${here.key}`], { reject: false })
      : { exitCode: 1 };
    const how = exitCode === 0 ? 'unchanged lockfile: reused from the cache' : 'runs';
    steps.push({
      step: 'install',
      on: 'host',
      command: role.install.command,
      cached: exitCode === 0,
      text: `Install: ${role.install.command} (${how})`,
    });
  }
  if (cfg.approval.required)
    steps.push({ step: 'approval', text: `Approval: waits for slipway approve (up to ${cfg.approval.timeout}s)` });
  for (const hook of role.hooks.before_activate)
    steps.push({ step: 'hook', when: 'before_activate', command: hook, text: `Hook before_activate: ${hook}` });
  for (const w of cfg.wait_for)
    steps.push({ step: 'wait_for', text: `Wait for ${describeCondition(w)} (up to ${w.timeout}s)` });
  steps.push(activateStep(role));
  for (const hook of role.hooks.after_activate)
    steps.push({ step: 'hook', when: 'after_activate', command: hook, text: `Hook after_activate: ${hook}` });
  if (cfg.verify.duration > 0) steps.push(verifyStep(cfg, state));
  const pruned = planPrune(afterDeploy(state, 'NEW', succeeded(cfg, h.name, 'NEW')), cfg.keep_releases);
  const prune = pruned.length ? `prune ${pruned.join(', ')}` : 'nothing to prune';
  steps.push({ step: 'record', prune: pruned, text: `Record, ${prune}, unlock` });
  return steps;
}

/**
 * What the transfer sends: the release's files against the host's base release. With `install.once`, the
 * dependencies built here count as part of the release; if none are built yet, the host's copy of them is not
 * counted as going away (the deploy builds and sends them).
 */
async function transferStep(s: Session, h: Host, state: HostState, here: Local, shipsDeps: boolean): Promise<PlanStep> {
  const base = chooseBase(state);
  const baseText = base
    ? (manifestStore.get(state.manifests[base]!.slice(-32)) ??
      (await h.run(['cat', `${s.layout.manifests}/${state.manifests[base]}`])).stdout)
    : '';
  const target = shipsDeps && here.deps ? here.deps.manifest : here.manifest;
  const diff = diffManifests(parseManifest(baseText), target);
  const drop = shipsDeps && !here.deps ? diff.drop.filter((f) => !isInstallPath(s.cfg, f)) : diff.drop;
  const bytes = diff.send.reduce((n, e) => n + e.size, 0);
  const linked = target.entries.length - diff.send.length;
  const deps = shipsDeps && !here.deps ? ', plus the dependencies built here' : '';
  return {
    step: 'transfer',
    send: diff.send.length,
    bytes,
    remove: drop.length,
    linked,
    base: base ?? null,
    text:
      `Transfer: ${diff.send.length} file(s) to send (${formatBytes(bytes)} before compression), ${drop.length} ` +
      `to remove or replace, ${linked} hard-linked from ${base ?? 'nothing (first deploy)'}${deps}`,
  };
}

function finalizeStep(role: ResolvedConfig, secrets: string[]): PlanStep {
  const shared = [...role.shared.dirs, ...role.shared.files].map((p) => `shared/${p}`);
  const vars = Object.keys(role.env).length;
  const secretCount = new Set([...secrets, ...role.secrets]).size;
  return {
    step: 'finalize',
    shared,
    variables: vars,
    secrets: secretCount,
    text:
      `Finalize: ${shared.join(', ') || 'no shared paths'}; ` +
      `env file with ${vars} variable(s) and ${secretCount} secret(s), mode 0400`,
  };
}

function activateStep(role: ResolvedConfig): PlanStep {
  const check = role.health.command ? `\`${role.health.command}\`` : role.health.path;
  if (isProxied(role))
    return {
      step: 'activate',
      slots: true,
      text:
        `Start on the idle slot, health check ${check}, switch Caddy, ` +
        `drain the old slot (${role.proxy.drain_timeout}s)`,
    };
  const where = role.health.command ? '' : ` on port ${role.port}`;
  return {
    step: 'activate',
    slots: false,
    text: `Switch current, restart, health check ${check}${where} (up to ${role.health.timeout}s)`,
  };
}

function verifyStep(cfg: ResolvedConfig, state: HostState): PlanStep {
  const command = cfg.verify.command ? ` with \`${cfg.verify.command}\`` : '';
  const rate = cfg.verify.error_rate ? ` and error rate ≤ ${cfg.verify.error_rate.max}` : '';
  return {
    step: 'verify',
    seconds: cfg.verify.duration,
    text:
      `Verify for ${cfg.verify.duration}s${command}${rate}; ` +
      `a failure restores ${state.current ?? 'nothing'} and marks the release bad`,
  };
}

function succeeded(cfg: ResolvedConfig, host: string, release: string): HistoryRecord {
  const base = { time: '', app: cfg.app, environment: cfg.environment, user: '', machine: '' };
  return { ...base, event: 'succeeded', host, release };
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
