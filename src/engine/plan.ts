// `slipway plan ENV`: every step a deploy would run on every host, worked out
// from the working tree and each host's state, read without taking the lock.
// Nothing runs that changes anything: no build, no check, no lock, no write.
import type { ResolvedConfig } from '../config/load.ts';
import type { Reporter } from '../output/reporter.ts';
import { formatBytes } from '../output/reporter.ts';
import { isProxied } from '../proxy/caddy.ts';
import { diffManifests, manifestStore, parseManifest } from '../release/content.ts';
import { gitInfo } from '../release/git.ts';
import { chooseBase } from '../release/transfer.ts';
import { readLock, describeHolder } from '../server/lock.ts';
import { afterDeploy, planPrune, readState } from '../server/state.ts';
import { systemdUnit, unitName } from '../runtime/systemd.ts';
import { readSecrets } from '../secrets/store.ts';
import { localPlatform } from './deps.ts';
import { describeCondition } from './guardrails.ts';
import { installKey, ownOutput, selectRelease } from './prepare.ts';
import { eachHost, rolloutGroups, withSession } from './session.ts';
import { windowRefusal } from './windows.ts';

export interface Plan {
  environment: string;
  /** steps before any host is touched */
  local: string[];
  hosts: { host: string; role: string; current?: string; steps: string[] }[];
  /** after every host: record, prune, notify */
  after: string[];
}

export async function plan(cfg: ResolvedConfig, reporter: Reporter): Promise<Plan> {
  const local: string[] = [];
  const refusal = windowRefusal(cfg.windows, new Date(), cfg.file);
  local.push(refusal ? `Deploy window: ${refusal}: the deploy would stop here (--force overrides)` : `Deploy window: ${cfg.windows.allow.length || cfg.windows.block.length ? 'open now' : 'none set'}`);
  for (const c of cfg.checks.filter((x) => x.on === 'local')) local.push(`Check here: ${c.run} (must pass; up to ${c.timeout}s)`);
  const git = await gitInfo(cfg.dir, ownOutput(cfg));
  if (git?.dirty) local.push(`Uncommitted changes (${git.changes.length}): the deploy would stop unless --allow-dirty`);
  for (const b of cfg.build) local.push(`Build here: ${b}`);
  const { files, manifest } = await selectRelease(cfg);
  local.push(`Release: ${files.length} files${cfg.build.length ? ' (as the tree is now; the build may change them)' : ''}${git?.sha ? ` at ${git.sha.slice(0, 7)} "${git.subject}"` : ''}`);
  const secrets = Object.keys(await readSecrets(cfg));
  const key = installKey(cfg, cfg.dir, files);
  if (cfg.install.command && cfg.install.once) local.push(`Install here, once: ${cfg.install.command} (shipped to hosts of ${localPlatform()})`);

  const hosts = await withSession(
    cfg,
    reporter,
    async (s) =>
      eachHost(s.hosts, async (h) => {
        const { cfg: role } = s.on(h);
        const l = s.layout;
        const state = await readState(h, l);
        const steps: string[] = [];
        const lock = await readLock(h, l);
        steps.push(lock ? `Lock: held by ${describeHolder(lock)}: the deploy would wait or fail` : 'Lock');
        for (const c of cfg.checks.filter((x) => x.on === 'host')) steps.push(`Check: ${c.run}`);
        const base = chooseBase(state);
        const shipsDeps = cfg.install.once && !!cfg.install.command && state.platform === localPlatform();
        const baseText = base ? (manifestStore.get(state.manifests[base]!.slice(-32)) ?? (await h.run(['cat', `${l.manifests}/${state.manifests[base]}`])).stdout) : '';
        const { send, drop } = diffManifests(parseManifest(baseText), manifest);
        const bytes = send.reduce((n, e) => n + e.size, 0);
        steps.push(`Transfer: ${send.length} file(s) to send (${formatBytes(bytes)} before compression), ${drop.length} to remove or replace, ${files.length - send.length} hard-linked from ${base ?? 'nothing (first deploy)'}${shipsDeps ? ', plus the dependencies built here' : ''}`);
        steps.push(`Finalize: ${[...role.shared.dirs.map((d) => `shared/${d}`), ...role.shared.files.map((f) => `shared/${f}`)].join(', ') || 'no shared paths'}; env file with ${Object.keys(role.env).length} variable(s) and ${new Set([...secrets, ...role.secrets]).size} secret(s), mode 0400`);
        if (role.runtime === 'systemd') {
          const name = unitName(role.app, isProxied(role) ? '' : undefined);
          const onHost = await h.run(['cat', `/etc/systemd/system/${name}`], { reject: false });
          steps.push(`Unit ${name}: ${onHost.exitCode !== 0 ? 'would be written' : onHost.stdout === systemdUnit({ ...role, slots: isProxied(role) }) ? 'unchanged' : 'would be rewritten'}`);
        }
        if (role.install.command && !shipsDeps) {
          const cached = key ? (await h.run(['test', '-d', `${l.installCache}/${key}`], { reject: false })).exitCode === 0 : false;
          steps.push(`Install: ${role.install.command} (${cached ? 'unchanged lockfile: reused from the cache' : 'runs'})`);
        }
        if (cfg.approval.required) steps.push(`Approval: waits for slipway approve (up to ${cfg.approval.timeout}s)`);
        for (const hook of role.hooks.before_activate) steps.push(`Hook before_activate: ${hook}`);
        for (const w of cfg.wait_for) steps.push(`Wait for ${describeCondition(w)} (up to ${w.timeout}s)`);
        steps.push(
          isProxied(role)
            ? `Start on the idle slot, health check ${role.health.command ? `\`${role.health.command}\`` : role.health.path}, switch Caddy, drain the old slot (${role.proxy.drain_timeout}s)`
            : `Switch current, restart, health check ${role.health.command ? `\`${role.health.command}\`` : `${role.health.path} on port ${role.port}`} (up to ${role.health.timeout}s)`,
        );
        for (const hook of role.hooks.after_activate) steps.push(`Hook after_activate: ${hook}`);
        if (cfg.verify.duration > 0) steps.push(`Verify for ${cfg.verify.duration}s${cfg.verify.command ? ` with \`${cfg.verify.command}\`` : ''}${cfg.verify.error_rate ? ` and error rate ≤ ${cfg.verify.error_rate.max}` : ''}; a failure restores ${state.current ?? 'nothing'} and marks the release bad`);
        const newId = 'NEW';
        const pruned = planPrune(afterDeploy(state, newId, { time: '', event: 'succeeded', app: cfg.app, environment: cfg.environment, host: h.name, release: newId, user: '', machine: '' }), cfg.keep_releases);
        steps.push(`Record, ${pruned.length ? `prune ${pruned.join(', ')}` : 'nothing to prune'}, unlock`);
        return { host: h.name, role: h.target.role, current: state.current, steps };
      }),
    { connectStep: false },
  );
  const groups = rolloutGroups(cfg.targets.map((t) => t.name), cfg.rollout.limit);
  const after: string[] = [];
  if (groups.length > 1) after.push(`Rolling: ${groups.map((g) => `[${g.join(', ')}]`).join(' then ')}${cfg.rollout.pause ? `, ${cfg.rollout.pause}s apart` : ''}`);
  if (cfg.webhooks.length) after.push(`Webhooks: ${cfg.webhooks.length} notified (started, succeeded or failed${cfg.approval.required ? ', waiting for approval' : ''})`);
  return { environment: cfg.environment, local, hosts, after };
}

export function renderPlan(p: Plan): string {
  const lines = [`Plan for ${p.environment} (nothing has been changed):`, ...p.local.map((l) => `  ${l}`)];
  for (const h of p.hosts) {
    lines.push(`  ${h.host} (role ${h.role}, current ${h.current ?? 'none'}):`);
    for (const s of h.steps) lines.push(`    ${s}`);
  }
  lines.push(...p.after.map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

