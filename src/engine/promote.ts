// Promotion: the very release that is live and healthy in one environment,
// deployed to the next (`after:`). Its files are fetched from the first host of
// the source environment and checked against the manifest digest recorded when
// it was deployed there: the same artifact, the same checksum, no rebuild.
// Also marking a release bad, which promotion and rollbacks respect.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { hashFiles, parseManifest, PATH_COLUMN } from '../release/content.ts';
import { appendHistory, historyRecord } from '../server/history.ts';
import { script, sh, type Layout } from '../server/layout.ts';
import { findRelease, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { checkLive } from './activate.ts';
import { deploy, type DeployResult } from './deploy.ts';
import { whoami } from './guardrails.ts';
import { installKey, type PreparedRelease } from './prepare.ts';
import { eachHost, readStates, type Session, withSession } from './session.ts';
import PACK_BODY from '../scripts/promote-pack.sh';

// $1 release folder, $2 its manifest: the release's files (those of its manifest) as a gzipped tar
const PACK = script({ PATH_COLUMN }, PACK_BODY);

export async function promote(
  from: ResolvedConfig,
  to: ResolvedConfig,
  events: Events,
  opts: { force: boolean; command: string; lockWait?: number; release?: string },
): Promise<DeployResult> {
  refuseOutOfOrder(from, to, events, opts.force);
  let release: PreparedRelease | undefined;
  // the promotion's own phases, in the first environment; then a deploy of that release to the next
  await withSession(from, events, async (s) => {
    const picked = await events.phase('pick', () => pickRelease(s, opts));
    await events.phase('source_health', () => checkSourceHealth(s, picked, opts.force));
    release = await events.phase('fetch', () => fetchPicked(s, picked, to));
  });
  return deploy(to, events, {
    allowDirty: false,
    command: opts.command,
    lockWait: opts.lockWait,
    force: opts.force,
    promote: { from: from.environment, release: async () => release! },
  });
}

/** Environments are promoted in the order their `after:` says. */
function refuseOutOfOrder(from: ResolvedConfig, to: ResolvedConfig, events: Events, force: boolean): void {
  if (to.after === from.environment) return;
  const why =
    `${to.environment} does not come after ${from.environment} ` +
    `(${to.after ? `its after: is ${to.after}` : 'it has no after:'})`;
  if (!force)
    throw new SlipwayError('guardrail', `promotion refused: ${why}`, {
      hint: `set \`after: ${from.environment}\` on ${to.environment} in ${to.file}, or pass --force`,
    });
  events.warn(`${why}; promoting anyway (--force)`);
}

interface Picked {
  id: string;
  live: string;
  info: HostState['releases'][number];
  states: Map<Host, HostState>;
}

/** The release to promote (the live one, or the one named) and whether it ever passed the first environment. */
async function pickRelease(s: Session, opts: { force: boolean; release?: string }): Promise<Picked> {
  const from = s.cfg;
  const states = await readStates(s);
  const live = liveRelease(from, s.hosts, states);
  const id = opts.release
    ? findRelease(s.hosts[0]!, states.get(s.hosts[0]!)!, opts.release, from.environment).id
    : live;
  const info = states.get(s.hosts[0]!)!.releases.find((r) => r.id === id)!;
  if (info.status === 'bad') {
    throw new SlipwayError('guardrail', `promotion refused: ${id} is marked bad in ${from.environment}`, {
      hint: 'a bad release is never promoted; deploy a fixed one to the first environment',
    });
  }
  if (info.status !== 'ok') {
    const ended = info.status === 'failed' ? 'failed' : 'did not finish';
    const why = `${id} never passed ${from.environment} (its deploy ${ended})`;
    if (!opts.force)
      throw new SlipwayError('guardrail', `promotion refused: ${why}`, {
        hint: `deploy it to ${from.environment} successfully first, or pass --force`,
      });
    s.events.warn(`${why}; promoting anyway (--force)`);
  }
  return { id, live, info, states };
}

/** A live release must be healthy where it runs now; one that is not live is not checked. */
async function checkSourceHealth(s: Session, { id, live }: Picked, force: boolean): Promise<void> {
  const from = s.cfg;
  if (id !== live) {
    s.events.warn(`${id} is not live in ${from.environment} (${live} is): its health there is not checked now`);
    return;
  }
  await s.events.step(`Check ${id} is healthy in ${from.environment}`, () =>
    eachHost(s.hosts, async (h) => {
      const { cfg } = s.on(h);
      const r = await checkLive(s, h, id, { ...cfg.health, timeout: Math.min(cfg.health.timeout, 10) });
      if (!r.ok && !force)
        throw new SlipwayError(
          'guardrail',
          `promotion refused: ${h.name} (${from.environment}) is not healthy: ${r.report}`,
          {
            hint: 'fix or roll back there first, or pass --force',
          },
        );
    }),
  );
}

/** The release's files, byte for byte, from the first environment's first host. */
async function fetchPicked(s: Session, { id, info, states }: Picked, to: ResolvedConfig): Promise<PreparedRelease> {
  const first = s.hosts[0]!;
  const manifestFile = states.get(first)!.manifests[id];
  if (!manifestFile)
    throw new SlipwayError(
      'failure',
      `${first.name}: ${id} has no stored manifest (deployed by an older slipway); it cannot be promoted byte for byte`,
      { hint: `deploy a new release to ${s.cfg.environment}` },
    );
  return s.events.step(`Fetch ${id} from ${first.name}`, () =>
    fetchRelease(first, s.layout, id, manifestFile, info, to),
  );
}

/** The one release live on every host of the environment. */
function liveRelease(cfg: ResolvedConfig, hosts: Host[], states: Map<Host, HostState>): string {
  const live = new Set(hosts.map((h) => states.get(h)!.current));
  const id = states.get(hosts[0]!)!.current;
  if (!id)
    throw new SlipwayError('guardrail', `promotion refused: nothing is deployed in ${cfg.environment}`, {
      hint: `slipway deploy ${cfg.environment} first`,
    });
  if (live.size > 1) {
    throw new SlipwayError(
      'guardrail',
      `promotion refused: the hosts of ${cfg.environment} run different releases ` +
        `(${hosts.map((h) => `${h.name}: ${states.get(h)!.current ?? 'none'}`).join(', ')})`,
      {
        hint: `finish or roll back the deploy in ${cfg.environment} first`,
      },
    );
  }
  return id;
}

/** The release's files, unpacked here and checked against its manifest's digest. */
export async function fetchRelease(
  host: Host,
  l: Layout,
  id: string,
  manifestFile: string,
  info: HostState['releases'][number],
  to: ResolvedConfig,
): Promise<PreparedRelease> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-promote-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const archive = path.join(tmp, 'release.tar.gz');
    const dir = path.join(tmp, 'release');
    const [manifest] = await Promise.all([
      host.run(['cat', `${l.manifests}/${manifestFile}`]),
      host.run(sh(PACK, l.release(id), `${l.manifests}/${manifestFile}`), { outputFile: archive }),
    ]);
    await execa('mkdir', [dir]);
    await execa('tar', ['-xzf', archive, '-C', dir, '--no-same-owner']);
    rmSync(archive);
    const files = [...parseManifest(manifest.stdout).keys()];
    const got = hashFiles(dir, files);
    const expected = manifestFile.slice(-32);
    if (got.digest !== expected) {
      throw new SlipwayError(
        'failure',
        `${host.name}: the files of ${id} do not match its manifest (digest ${got.digest}, expected ` +
          `${expected}); the release on the host was changed`,
        { hint: 'deploy a new release instead of promoting this one' },
      );
    }
    return {
      id,
      sha: info.sha,
      subject: info.subject,
      srcDir: dir,
      files,
      manifest: got,
      installKey: installKey(to, dir, files),
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Mark a release bad on every host of the environment: rollbacks skip it, promotion refuses it. */
export async function markBad(
  cfg: ResolvedConfig,
  events: Events,
  id: string,
  opts: { reason?: string; command: string; by?: string },
): Promise<{ release: string; current: boolean }> {
  return withSession(cfg, events, async (s) => {
    const states = await readStates(s);
    const target = findRelease(s.hosts[0]!, states.get(s.hosts[0]!)!, id, cfg.environment);
    const by = opts.by ?? whoami();
    const [user, machine] = whoami().split('@') as [string, string];
    await events.step(`Mark ${target.id} bad`, () =>
      eachHost(s.hosts, async (h) => {
        const marked = historyRecord(cfg, h.name, 'marked_bad', {
          release: target.id,
          sha: target.sha,
          user,
          machine,
          by,
          command: opts.command,
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        await appendHistory(h, s.layout, marked);
        events.recorded(h.name, marked);
      }),
    );
    const current = s.hosts.some((h) => states.get(h)!.current === target.id);
    if (current)
      events.warn(
        `${target.id} is live in ${cfg.environment}: marking does not switch; run slipway rollback ${cfg.environment}`,
      );
    return { release: target.id, current };
  });
}
