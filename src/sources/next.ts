// What a pulling agent does with what its source offers (pure): the newest version newer than any the host has had,
// signed for this app and environment, never one remembered as bad, once its cooldown is over and inside the deploy
// windows. Otherwise the reason, as `slipway status` shows it.
import { verifyArtifact } from '../release/signing.ts';
import { type ChannelEntry, signedFacts } from './channel.ts';

/** A version that failed here: an artifact (its release and digest) or a commit. */
export interface BadVersion {
  release?: string;
  sha256?: string;
  commit?: string;
  /** an image digest */
  image?: string;
  why: string;
  at: string;
}

export interface PullFacts {
  app: string;
  environment: string;
  publicKey: string;
  /**
   * the newest release the host keeps or was given: only a newer one is pulled, so a rollback from a laptop is not
   * undone by the next look (what was rolled back from stays on the host)
   */
  since?: string;
  /** releases the host's state marks bad (a failed verification, `slipway mark-bad`) */
  markedBad: string[];
  bad: BadVersion[];
  cooldownS: number;
  now: number;
  /** why the deploy windows refuse a deploy now, if they do */
  window?: string;
}

export type PullNext =
  | { do: 'deploy'; entry: ChannelEntry }
  | { do: 'hold'; entry: ChannelEntry; why: string; until?: number }
  | { do: 'none'; why: string; skipped: string[] };

/** Why an entry is not to be deployed whatever the time, or undefined. */
function refusal(e: ChannelEntry, f: PullFacts): string | undefined {
  const signature = e.signatures[f.environment];
  if (!signature) return `${e.release} is not signed for ${f.environment}`;
  if (!verifyArtifact(f.publicKey, signedFacts(f.app, f.environment, e), signature))
    return (
      `${e.release}: its ${f.environment} signature does not verify with pull.public_key ` +
      '(tampered, or signed with another key)'
    );
  const bad = f.bad.find((b) => b.release === e.release || b.sha256 === e.sha256);
  if (bad) return `${e.release} is bad (${bad.why})`;
  if (f.markedBad.includes(e.release)) return `${e.release} is marked bad on the host`;
  return undefined;
}

export function nextPull(entries: ChannelEntry[], f: PullFacts): PullNext {
  const newer = entries
    .filter((e) => !f.since || e.release.localeCompare(f.since) > 0)
    .sort((a, b) => b.release.localeCompare(a.release));
  const skipped: string[] = [];
  for (const entry of newer) {
    const why = refusal(entry, f);
    if (why) {
      skipped.push(why);
      continue;
    }
    // a build time in the future (a fast CI clock) counts as now
    const until = Math.min(Date.parse(entry.built_at), f.now) + f.cooldownS * 1000;
    if (until > f.now) return { do: 'hold', entry, why: `cooldown until ${new Date(until).toISOString()}`, until };
    if (f.window) return { do: 'hold', entry, why: `outside the deploy windows: ${f.window}` };
    return { do: 'deploy', entry };
  }
  const at = f.since ? `nothing newer than ${f.since}` : 'no release is offered';
  return { do: 'none', why: skipped.length ? `nothing newer to deploy: ${skipped.join('; ')}` : at, skipped };
}

export interface CommitFacts {
  tip: { sha: string; committedAt: number };
  /** the last commit the agent deployed or tried; unset: the one the host serves, if it came from this branch */
  lastTip?: string;
  servedSha?: string;
  /** the last tip is not in the new tip's history: the branch was force-pushed */
  rewritten: boolean;
  bad: BadVersion[];
  cooldownS: number;
  now: number;
  window?: string;
}

export type CommitNext =
  | { do: 'deploy'; approval: boolean; why?: string }
  | { do: 'hold'; why: string; until?: number }
  | { do: 'none'; why: string };

/**
 * What to do with a branch's tip (pure): nothing when it is the commit last acted on (so a rollback from a laptop is
 * not undone), never a commit that failed, the cooldown from its commit time, the windows; a rewritten branch only
 * with an approval.
 */
export function nextCommit(f: CommitFacts): CommitNext {
  return nextVersion({
    id: f.tip.sha,
    label: f.tip.sha.slice(0, 12),
    since: f.tip.committedAt,
    last: f.lastTip ?? f.servedSha,
    bad: f.bad.find((b) => b.commit === f.tip.sha),
    rewritten: f.rewritten,
    ...timing(f),
  });
}

export interface ImageFacts {
  tag: string;
  digest: string;
  /** the digest last deployed or tried */
  lastDigest?: string;
  /** when the agent first saw this digest (ms): the cooldown counts from it */
  firstSeenAt: number;
  bad: BadVersion[];
  cooldownS: number;
  now: number;
  window?: string;
}

/** What to do with the digest a tag points at (pure): as for a commit, the cooldown counted from its first sight. */
export function nextImage(f: ImageFacts): CommitNext {
  return nextVersion({
    id: f.digest,
    label: `${f.tag}@${f.digest.slice(7, 19)}`,
    since: f.firstSeenAt,
    last: f.lastDigest,
    bad: f.bad.find((b) => b.image === f.digest),
    rewritten: false,
    ...timing(f),
  });
}

const timing = (f: { cooldownS: number; now: number; window?: string }) => ({
  cooldownS: f.cooldownS,
  now: f.now,
  ...(f.window ? { window: f.window } : {}),
});

function nextVersion(f: {
  id: string;
  label: string;
  since: number;
  last?: string;
  bad?: BadVersion;
  rewritten: boolean;
  cooldownS: number;
  now: number;
  window?: string;
}): CommitNext {
  if (f.id === f.last) return { do: 'none', why: `nothing newer than ${f.label}` };
  if (f.bad) return { do: 'none', why: `${f.label} is bad (${f.bad.why})` };
  const until = Math.min(f.since, f.now) + f.cooldownS * 1000;
  if (until > f.now) return { do: 'hold', why: `${f.label}: cooldown until ${new Date(until).toISOString()}`, until };
  if (f.window) return { do: 'hold', why: `${f.label}: outside the deploy windows: ${f.window}` };
  if (f.rewritten)
    return {
      do: 'deploy',
      approval: true,
      why: `${f.label}: the branch was rewritten (force-pushed): needs an approval`,
    };
  return { do: 'deploy', approval: false };
}
