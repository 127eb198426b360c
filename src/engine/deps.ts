// `install.once`: dependencies built once, on this machine, and shipped with the
// release to every host of the same platform. The install runs in a copy of the
// release's files; its result (`install.paths`) is cached here under the install
// key (lockfile + command), so an unchanged lockfile costs nothing, and the
// content-addressed transfer sends a host only the dependency files it lacks.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { hashCacheFile, privateCacheDir, hashFiles, manifestOf, type Manifest } from '../release/content.ts';
import { refuseUnshippable, walk } from '../release/manifest.ts';

export interface BuiltDeps {
  /** the release's files plus the dependencies */
  manifest: Manifest;
  /** the platform they were built on (see localPlatform) */
  platform: string;
}

/** This machine as a host's state reports it: `uname -s`, `uname -m` and the C library. */
export function localPlatform(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `${os.type()} ${os.machine()} ${header?.glibcVersionRuntime ? 'glibc' : 'musl'}`;
}

/** The manifest a host receives: with the dependencies when its platform is the one they were built on (pure). */
export function manifestFor(
  release: { manifest: Manifest; deps?: BuiltDeps },
  hostPlatform: string | undefined,
): Manifest {
  return release.deps && hostPlatform === release.deps.platform ? release.deps.manifest : release.manifest;
}

const KEEP = 3;

type DepsRelease = { id: string; srcDir: string; files: string[]; manifest: Manifest; installKey: string };

/** Where this machine keeps the dependencies built for a release's lockfile. */
function depsBuildDir(cfg: ResolvedConfig, release: Pick<DepsRelease, 'id' | 'installKey'>): string {
  const root = privateCacheDir(
    'install',
    createHash('sha256').update(path.resolve(cfg.dir)).digest('hex').slice(0, 16),
  );
  // without a lockfile there is no key: built for this release only
  return path.join(root, release.installKey || `release-${release.id}`);
}

/** The dependencies already built here for this lockfile, without building anything (for `plan`). */
export async function builtDeps(cfg: ResolvedConfig, release: DepsRelease): Promise<BuiltDeps | undefined> {
  const out = depsBuildDir(cfg, release);
  return existsSync(out) ? withDeps(cfg, release, out) : undefined;
}

/** Build (or reuse) the dependencies for a release and return the release's manifest with them. */
export async function buildDepsOnce(cfg: ResolvedConfig, events: Events, release: DepsRelease): Promise<BuiltDeps> {
  const command = cfg.install.command!;
  const out = depsBuildDir(cfg, release);
  if (existsSync(out)) {
    await events.step(`Install here, once: ${command}`, async (c) => c.done('reused: built here for this lockfile'));
  } else {
    await events.step(`Install here, once: ${command}`, async () => {
      const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-install-'));
      try {
        for (const f of release.files)
          cpSync(path.join(release.srcDir, f), path.join(work, f), {
            verbatimSymlinks: true,
            preserveTimestamps: true,
          });
        const r = await execa('/bin/sh', ['-c', command], { cwd: work, reject: false, all: true });
        if (r.exitCode !== 0) {
          throw new SlipwayError('failure', `install command failed here (exit ${r.exitCode}): ${command}`, {
            details:
              String(r.all ?? '')
                .trim()
                .split('\n')
                .slice(-30)
                .join('\n') || undefined,
          });
        }
        const tmp = `${out}.tmp.${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp, { recursive: true });
        for (const p of cfg.install.paths) {
          if (!existsSync(path.join(work, p))) continue;
          mkdirSync(path.dirname(path.join(tmp, p)), { recursive: true });
          renameSync(path.join(work, p), path.join(tmp, p));
        }
        renameSync(tmp, out);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      pruneBuilds(path.dirname(out), out);
    });
  }
  return withDeps(cfg, release, out);
}

/** The release's manifest with the dependencies built in `out` in place of its own install paths. */
async function withDeps(cfg: ResolvedConfig, release: DepsRelease, out: string): Promise<BuiltDeps> {
  const files = refuseUnshippable(
    await walk(
      out,
      cfg.install.paths.flatMap((p) => [p, `${p}/**`]),
    ),
  );
  const built = hashFiles(out, files, hashCacheFile(out)).entries.map((e) => ({ ...e, src: path.join(out, e.path) }));
  return {
    manifest: manifestOf([...release.manifest.entries.filter((e) => !isInstallPath(cfg, e.path)), ...built]),
    platform: localPlatform(),
  };
}

/** Whether a release path is (inside) one of the install's results, `install.paths` (pure). */
export function isInstallPath(cfg: Pick<ResolvedConfig, 'install'>, file: string): boolean {
  return cfg.install.paths.some((p) => file === p || file.startsWith(`${p}/`));
}

/** Keep the newest builds (and the one in use). */
function pruneBuilds(root: string, keep: string): void {
  const builds = readdirSync(root)
    .filter((f) => !f.includes('.tmp.'))
    .map((f) => ({ f: path.join(root, f), t: statSync(path.join(root, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const old of builds.slice(KEEP)) if (old.f !== keep) rmSync(old.f, { recursive: true, force: true });
}
