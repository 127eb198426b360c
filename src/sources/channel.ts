// A channel: the folder (or the same folder served over HTTP(S)) where CI publishes an app's signed artifacts.
//   index.json            { app, releases: [{ release, file, sha256, built_at, sha?, subject?, signatures }] }
//   <release>.tar.gz      written by `slipway build --output DIR/`, with <release>.tar.gz.sha256 beside it
// The index is not trusted: every entry's facts are what its signature vouches for, and the agent checks the
// artifact's bytes against them. It only names files inside the channel folder.
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../errors.ts';
import { isReleaseId } from '../release/id.ts';
import type { Signed } from '../release/signing.ts';

export const INDEX = 'index.json';
/** entries an index keeps, newest last: enough to skip a few bad ones */
export const KEEP_ENTRIES = 20;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.tar\.gz$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface ChannelEntry {
  release: string;
  file: string;
  sha256: string;
  built_at: string;
  sha?: string;
  subject?: string;
  /** base64 ed25519 signature per environment it was signed for */
  signatures: Record<string, string>;
}

export interface Channel {
  app: string;
  releases: ChannelEntry[];
}

/** What the entry's signature for `environment` vouches for (pure). */
export function signedFacts(app: string, environment: string, e: ChannelEntry): Signed {
  return { app, environment, release: e.release, sha256: e.sha256, built_at: e.built_at };
}

/** The index, checked entry by entry (pure): an entry that is not well-formed is left out and said why. */
export function parseChannel(text: string, where: string, app: string): { channel: Channel; problems: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SlipwayError('config', `${where}: not JSON → publish it with slipway build --output DIR/`);
  }
  const d = data as Partial<Channel> | null;
  if (!d || typeof d !== 'object' || typeof d.app !== 'string' || !Array.isArray(d.releases))
    throw new SlipwayError('config', `${where}: not a slipway channel index (no app or releases)`);
  if (d.app !== app) throw new SlipwayError('config', `${where}: the channel of app "${d.app}", not "${app}"`);
  const problems: string[] = [];
  const releases = d.releases.filter((e: unknown, i) => {
    const problem = entryProblem(e);
    if (problem) problems.push(`${where}: releases[${i}]: ${problem}`);
    return !problem;
  });
  return { channel: { app, releases }, problems };
}

function entryProblem(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return 'not an object';
  const x = e as Record<string, unknown>;
  if (typeof x.release !== 'string' || !isReleaseId(x.release)) return 'release is not a slipway release id';
  if (typeof x.file !== 'string' || !FILE.test(x.file)) return 'file is not a plain .tar.gz name in the channel';
  if (typeof x.sha256 !== 'string' || !SHA256.test(x.sha256)) return 'sha256 is not a sha256 digest';
  if (typeof x.built_at !== 'string' || Number.isNaN(Date.parse(x.built_at))) return 'built_at is not a time';
  if (x.sha !== undefined && (typeof x.sha !== 'string' || !/^[0-9a-f]{7,64}$/.test(x.sha)))
    return 'sha is not a commit id';
  if (x.subject !== undefined && typeof x.subject !== 'string') return 'subject is not text';
  const sigs = x.signatures;
  if (!sigs || typeof sigs !== 'object' || Object.values(sigs).some((s) => typeof s !== 'string'))
    return 'signatures is not an object of environment → signature';
  return undefined;
}

/** The index with `entry` added (replacing one of the same release), newest last, the oldest dropped (pure). */
export function withEntry(channel: Channel, entry: ChannelEntry, keep = KEEP_ENTRIES): Channel {
  const others = channel.releases.filter((e) => e.release !== entry.release);
  const releases = [...others, entry].sort((a, b) => a.release.localeCompare(b.release)).slice(-keep);
  return { app: channel.app, releases };
}

/** Add an entry to DIR/index.json, replaced whole by rename: a reader sees the old index or the new one. */
export function addToChannel(dir: string, app: string, entry: ChannelEntry): void {
  const file = path.join(dir, INDEX);
  let channel: Channel = { app, releases: [] };
  try {
    channel = parseChannel(readFileSync(file, 'utf8'), file, app).channel;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(withEntry(channel, entry), null, 2)}\n`);
  renameSync(tmp, file);
}
