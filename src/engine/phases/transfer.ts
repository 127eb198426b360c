// Only the changed files: the release's manifest against the host's base release, the rest
// hard-linked. The transfer writes only into incoming/, so recording the start goes alongside.
import { diffManifests, manifestStore, parseManifest } from '../../release/content.ts';
import { chooseBase, nothingToLinkFrom, transfer as send } from '../../release/transfer.ts';
import { formatBytes } from '../../text.ts';
import { isInstallPath, manifestFor } from '../deps.ts';
import { eachHost } from '../session.ts';
import { always, forcedOf, type Phase, type PlanHost, type PlanStep } from './phase.ts';

export const transfer: Phase = {
  name: 'transfer',
  scope: 'group',
  applies: always,
  describe,
  async run(r, hosts, tag) {
    const { s, release, held } = r;
    r.started.push(...hosts);
    const sent = await s.events.step(`${tag}Transfer ${release.files.length} files`, async (c) => {
      const ship = (h: (typeof hosts)[number]) => {
        const known = held.states.get(h)!;
        // the host's copy of the release is not what its manifest says: sent whole, linked from nothing
        const state = r.replacing.has(h) ? nothingToLinkFrom(known) : known;
        const manifest = manifestFor(release, state.platform);
        return send(h, s.layout, { ...release, manifest }, state, (pct) => c.progress(`${pct}%`));
      };
      const stats = await eachHost(
        hosts,
        async (h) => {
          const recorded = r.record(h, 'started', forcedOf(r.guard));
          // a failed transfer's record must follow this one in the history: wait for it, whatever the transfer did
          const shipped = await ship(h).catch(async (e: unknown) => {
            await recorded.catch(() => undefined);
            throw e;
          });
          await recorded;
          return shipped;
        },
        s.cfg.rollout.concurrency,
      );
      const bytes = stats.reduce((n, t) => n + t.bytesSent, 0);
      const patched = stats.reduce((n, t) => n + t.filesPatched, 0);
      const deltas = patched ? ` (${patched} as a binary delta)` : '';
      const refused = stats.some((t) => t.deltaRefused) ? ' (a binary delta did not rebuild: sent whole)' : '';
      c.done(`${stats.reduce((n, t) => n + t.filesSent, 0)} changed${deltas}${refused}, ${formatBytes(bytes)} sent`);
      return bytes;
    });
    r.bytesSent += sent;
    s.checkInterrupted();
  },
};

/**
 * What the transfer sends: the release's files against the host's base release. With `install.once`, the
 * dependencies built here count as part of the release; if none are built yet, the host's copy of them is not
 * counted as going away (the deploy builds and sends them).
 */
async function describe({ s, h, state, here, view }: PlanHost): Promise<PlanStep[]> {
  const base = chooseBase(state);
  const baseText = base
    ? (manifestStore.get(state.manifests[base]!.slice(-32)) ??
      (await h.run(['cat', `${s.layout.manifests}/${state.manifests[base]}`])).stdout)
    : '';
  const shipsDeps = view.receivesDeps;
  const target = shipsDeps && here.deps ? here.deps.manifest : here.manifest;
  const diff = diffManifests(parseManifest(baseText), target);
  const drop = shipsDeps && !here.deps ? diff.drop.filter((f) => !isInstallPath(s.cfg, f)) : diff.drop;
  const bytes = diff.send.reduce((n, e) => n + e.size, 0);
  const linked = target.entries.length - diff.send.length;
  const deps = shipsDeps && !here.deps ? ', plus the dependencies built here' : '';
  return [
    {
      step: 'transfer',
      send: diff.send.length,
      bytes,
      remove: drop.length,
      linked,
      base: base ?? null,
      text:
        `Transfer: ${diff.send.length} file(s) to send (${formatBytes(bytes)} before compression), ${drop.length} ` +
        `to remove or replace, ${linked} hard-linked from ${base ?? 'nothing (first deploy)'}${deps}`,
    },
  ];
}
