// Making a release on the deploying machine: refuse a dirty tree, run the
// build, select the files, name the release. Or unpack a built artifact.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { relativePathProblem } from '../config/schema.ts';
import type { Events } from './events.ts';
import { gitInfo } from '../release/git.ts';
import { isReleaseId, releaseId } from '../release/id.ts';
import { hashCacheFile, hashFiles, type Manifest } from '../release/content.ts';
import { filterPaths, selectFiles } from '../release/manifest.ts';
import type { BuiltDeps } from './deps.ts';

export interface PreparedRelease {
  id: string;
  sha?: string;
  subject?: string;
  /** folder the files are read from */
  srcDir: string;
  files: string[];
  /** every file's content hash: what the transfer compares with a host's releases */
  manifest: Manifest;
  /** content hash of the install lockfile (with the install command); empty when there is none */
  installKey: string;
  /** `install.once`: the dependencies built here, shipped to hosts of this platform */
  deps?: BuiltDeps;
  /** removes temporary files (unpacked artifacts) */
  cleanup(): void;
}

const MANIFEST = '.slipway-release.json';

/** A local target's folder inside the app folder is slipway's own output: never part of a release. */
export function ownOutput(cfg: ResolvedConfig): string[] {
  const own = path.relative(cfg.dir, cfg.root);
  return cfg.targets[0]?.kind === 'local' && own && !own.startsWith('..') && !path.isAbsolute(own) ? [own] : [];
}

/** The release's files as they are now in the app folder, with their manifest. */
export async function selectRelease(cfg: ResolvedConfig): Promise<{ files: string[]; manifest: Manifest }> {
  const f = await selectFiles(cfg.dir, {
    include: cfg.include,
    exclude: [...cfg.exclude, ...ownOutput(cfg).map((d) => `${d}/**`), ...sharedPaths(cfg)],
  });
  if (f.length === 0) throw new SlipwayError('config', `${cfg.file}: include/exclude select no files in ${cfg.dir}`);
  return { files: f, manifest: hashFiles(cfg.dir, f, hashCacheFile(cfg.dir)) };
}

export async function prepareRelease(
  cfg: ResolvedConfig,
  events: Events,
  opts: { allowDirty: boolean; commit?: { sha: string; subject: string } },
): Promise<PreparedRelease> {
  const ownExclude = ownOutput(cfg);
  const select = () => selectRelease(cfg);
  // with no build commands the files are final already: select them while git is asked
  const selecting = cfg.build.length ? undefined : select();
  selecting?.catch(() => undefined);
  const git = opts.commit ? { ...opts.commit, dirty: false, changes: [] } : await gitInfo(cfg.dir, ownExclude);
  if (git?.dirty && !opts.allowDirty) {
    const list = git.changes
      .slice(0, 10)
      .map((c) => `  ${c}`)
      .join('\n');
    throw new SlipwayError('dirty', `${cfg.dir}: uncommitted changes; a release must match a commit`, {
      details: `${list}${git.changes.length > 10 ? `\n  … and ${git.changes.length - 10} more` : ''}`,
      hint: 'commit or stash them, or pass --allow-dirty (the release id then ends in -dirty)',
    });
  }
  for (const command of cfg.build) {
    await events.step(`Build: ${command}`, async () => {
      const r = await execa('/bin/sh', ['-c', command], { cwd: cfg.dir, reject: false, all: true });
      if (r.exitCode !== 0) {
        throw new SlipwayError('failure', `build command failed (exit ${r.exitCode}): ${command}`, {
          details: String(r.all ?? '')
            .trim()
            .split('\n')
            .slice(-30)
            .join('\n'),
        });
      }
    });
  }
  const { files, manifest } = await events.step('Select files', async (c) => {
    const r = await (selecting ?? select());
    c.done(`${r.files.length} files`);
    return r;
  });
  return {
    id: releaseId(new Date(), git?.sha, !!git?.dirty),
    sha: git?.sha || undefined,
    subject: git?.subject || undefined,
    srcDir: cfg.dir,
    files,
    manifest,
    installKey: installKey(cfg, cfg.dir, files),
    cleanup: () => undefined,
  };
}

/** Paths replaced on the host by links into shared/: never shipped. */
function sharedPaths(cfg: Pick<ResolvedConfig, 'shared'>): string[] {
  return [...cfg.shared.dirs.flatMap((d) => [d, `${d}/**`]), ...cfg.shared.files];
}

/** Cache key for the install step: lockfile content + install command. Empty (no caching) without a lockfile. */
export function installKey(cfg: Pick<ResolvedConfig, 'install'>, dir: string, files: string[]): string {
  if (!cfg.install.command || !files.includes(cfg.install.lockfile)) return '';
  const h = createHash('sha256');
  h.update(cfg.install.command)
    .update('\0')
    .update(cfg.install.paths.join('\0'))
    .update('\0')
    .update(readFileSync(path.join(dir, cfg.install.lockfile)));
  return h.digest('hex').slice(0, 24);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** `slipway build --output FILE`: the release as a .tar.gz with a manifest, and FILE.sha256 beside it. */
export async function writeArtifact(
  release: PreparedRelease,
  cfg: ResolvedConfig,
  output: string,
): Promise<{ file: string; sha256: string }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-artifact-'));
  try {
    const manifest = {
      app: cfg.app,
      id: release.id,
      sha: release.sha,
      subject: release.subject,
      files: release.files,
      created: new Date().toISOString(),
    };
    writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest));
    const file = path.resolve(output);
    await execa('tar', ['-czf', file, '-C', tmp, MANIFEST, '-C', release.srcDir, '--null', '-T', '-'], {
      input: release.files.join('\0'),
    });
    const sha256 = await sha256File(file);
    writeFileSync(`${file}.sha256`, `${sha256}  ${path.basename(file)}\n`);
    return { file, sha256 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Verify an artifact against its .sha256 file and unpack it for transfer. */
interface ArtifactManifest {
  app: string;
  id: string;
  sha?: string;
  subject?: string;
  files: string[];
}

/** The artifact's manifest, checked before any of it is used: its id becomes a folder name on every host. */
export function checkArtifactManifest(m: unknown, file: string, app: string): ArtifactManifest {
  const bad = (what: string) =>
    new SlipwayError('config', `${file}: ${what} → deploy an artifact written by \`slipway build --output\``);
  if (!m || typeof m !== 'object') throw bad('not a slipway artifact (its manifest is not an object)');
  const a = m as Partial<Record<keyof ArtifactManifest, unknown>>;
  if (typeof a.app !== 'string' || typeof a.id !== 'string' || !Array.isArray(a.files))
    throw bad('not a slipway artifact (its manifest lacks app, id or files)');
  if (a.app !== app)
    throw new SlipwayError(
      'config',
      `${file}: artifact of app ${JSON.stringify(a.app)}, not "${app}" → build it from this app`,
    );
  if (!isReleaseId(a.id))
    throw bad(`release id ${JSON.stringify(a.id)} is not one slipway makes (e.g. 20261122T031500042Z-1a2b3c4)`);
  if (a.sha !== undefined && (typeof a.sha !== 'string' || !/^[0-9a-f]{7,64}$/.test(a.sha)))
    throw bad(`git sha ${JSON.stringify(a.sha)} is not a commit id`);
  if (a.subject !== undefined && typeof a.subject !== 'string') throw bad('the commit subject is not text');
  for (const f of a.files) {
    const problem =
      typeof f === 'string' ? relativePathProblem(f, `file ${JSON.stringify(f)}`) : 'a file name is not text';
    if (problem || f === '') throw bad(`${problem ?? 'an empty file name'} (listed in the artifact)`);
  }
  return a as ArtifactManifest;
}

export async function openArtifact(cfg: ResolvedConfig, file: string): Promise<PreparedRelease> {
  await verifyChecksum(file);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-release-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const m = await unpackArtifact(cfg, file, dir);
    const files = filterPaths(m.files, { include: ['**'], exclude: sharedPaths(cfg) });
    return {
      id: m.id,
      sha: m.sha,
      subject: m.subject,
      srcDir: dir,
      files,
      manifest: hashFiles(dir, files),
      installKey: installKey(cfg, dir, files),
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** An artifact is deployed only with its checksum, and only when it matches. */
async function verifyChecksum(file: string): Promise<void> {
  let expected: string;
  const kind = statSync(file, { throwIfNoEntry: false });
  if (!kind)
    throw new SlipwayError('config', `${file}: not found → pass the .tar.gz written by \`slipway build --output\``);
  if (!kind.isFile())
    throw new SlipwayError(
      'config',
      `${file}: is a folder, not an artifact → pass the .tar.gz written by \`slipway build --output\``,
    );
  try {
    expected = readFileSync(`${file}.sha256`, 'utf8').trim().split(/\s+/)[0]!;
  } catch {
    throw new SlipwayError('config', `${file}.sha256: not found; an artifact is deployed only with its checksum`, {
      hint: 'copy the .sha256 file written by `slipway build --output` next to the artifact',
    });
  }
  const actual = await sha256File(file).catch(() => {
    throw new SlipwayError('config', `${file}: cannot read the artifact`);
  });
  if (actual !== expected)
    throw new SlipwayError(
      'config',
      `${file}: checksum mismatch (expected ${expected}, got ${actual}); the artifact is damaged or was changed`,
    );
}

/** Unpack into `dir` and check what is inside against the artifact's own manifest. */
async function unpackArtifact(cfg: ResolvedConfig, file: string, dir: string): Promise<ArtifactManifest> {
  const untar = await execa('tar', ['-xzf', file, '-C', dir, '--no-same-owner', '--no-same-permissions'], {
    reject: false,
  });
  if (untar.exitCode !== 0)
    throw new SlipwayError(
      'config',
      `${file}: not a complete .tar.gz (${untar.stderr.split('\n')[0] || `tar exited ${untar.exitCode}`}) → ` +
        `rebuild it with \`slipway build --output\``,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8'));
  } catch {
    throw new SlipwayError(
      'config',
      `${file}: not a slipway artifact (no ${MANIFEST} inside) → deploy an artifact written by \`slipway ` +
        `build --output\``,
    );
  }
  const m = checkArtifactManifest(parsed, file, cfg.app);
  const missing = m.files.find((f) => !lstatSync(path.join(dir, f), { throwIfNoEntry: false }));
  if (missing)
    throw new SlipwayError(
      'config',
      `${file}: ${JSON.stringify(missing)} is listed but not in the artifact → rebuild it with \`slipway ` +
        `build --output\``,
    );
  return m;
}
