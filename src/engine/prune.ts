// Keep the newest `keep_releases` releases; never the current one or the one before it.
import { imageTag } from '../runtime/docker.ts';
import { removeReleases } from '../server/release.ts';
import { planPrune, readState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { eachHost, type Session } from './session.ts';

export async function prune(s: Session, opts: { quiet?: boolean } = {}): Promise<Record<string, string[]>> {
  const removed = await eachHost(s.hosts, async (h) => {
    const state = await readState(h, s.layout);
    const ids = planPrune(state, s.cfg.keep_releases);
    await removeReleases(h, s.layout, ids, state.manifests);
    await removeImages(s, h, ids);
    return [h.name, ids] as const;
  });
  reportPruned(s, removed, opts.quiet);
  return Object.fromEntries(removed);
}

/** A docker release's image goes with it; images of kept releases stay for rollbacks. */
export async function removeImages(s: Session, h: Host, ids: string[]): Promise<void> {
  if (s.cfg.runtime === 'docker' && ids.length) await h.run(['docker', 'image', 'rm', ...ids.map((id) => imageTag(s.cfg.app, id))], { sudo: true, reject: false });
}

export function reportPruned(s: Session, removed: (readonly [string, string[]])[], quiet = false): void {
  const total = removed.reduce((n, [, ids]) => n + ids.length, 0);
  if (!quiet || total) s.reporter.info(total ? `Pruned ${total} old release(s): ${[...new Set(removed.flatMap(([, ids]) => ids))].join(', ')}` : 'Nothing to prune');
}
