// Building a release's image and getting it onto a host without a registry.
// `docker save` writes every layer; `docker load` only reads a layer's file
// when the host lacks that layer (by chain: the layer and all below it), so
// the archive sent leaves out the layers the host already has.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import { sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { ImageShipping } from './runtime.ts';
import HOST_LAYERS from '../scripts/docker-image-host-layers.sh';

export function imageTag(app: string, release: string): string {
  return `slipway-${app}:${release}`;
}

export const dockerImageShipping: ImageShipping = {
  builtHere: (cfg, release) => (cfg.docker.build === 'local' ? imageTag(cfg.app, release) : undefined),
  async buildHere(cfg, release, srcDir, onLine) {
    await buildImageLocally(cfg, release, srcDir, onLine);
    return saveImage(cfg, release);
  },
  buildOnHost: buildImageOnHost,
  ship: (host, image) => shipImage(host, image as SavedImage),
};

/** Indexes of the layers to send: those whose chain (the layer and all below) no host image has (pure). */
export function layersToSend(diffIds: string[], hostImages: string[][]): number[] {
  const has = (i: number) =>
    hostImages.some((layers) => layers.length > i && diffIds.slice(0, i + 1).every((d, j) => layers[j] === d));
  return diffIds.map((_, i) => i).filter((i) => !has(i));
}

export async function buildImageLocally(
  cfg: ResolvedConfig,
  release: string,
  srcDir: string,
  onLine?: (line: string) => void,
): Promise<void> {
  const child = execa(
    'docker',
    ['build', '--tag', imageTag(cfg.app, release), '--file', path.join(srcDir, cfg.docker.dockerfile), srcDir],
    { all: true, reject: false },
  );
  if (onLine) child.all?.on('data', (c: Buffer) => c.toString().split('\n').filter(Boolean).forEach(onLine));
  const r = await child;
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `docker build failed (exit ${r.exitCode})`, {
      details: tail(String(r.all ?? ''), 30),
      hint: `check ${cfg.docker.dockerfile}; the host was not changed`,
    });
}

export async function buildImageOnHost(
  host: Host,
  cfg: ResolvedConfig,
  release: string,
  releaseDir: string,
  onLine?: (line: string) => void,
): Promise<void> {
  const r = await host.run(
    [
      'docker',
      'build',
      '--tag',
      imageTag(cfg.app, release),
      '--file',
      path.posix.join(releaseDir, cfg.docker.dockerfile),
      releaseDir,
    ],
    { sudo: true, reject: false, onLine },
  );
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `${host.name}: docker build failed (exit ${r.exitCode})`, {
      details: tail(r.stderr || r.stdout, 30),
    });
}

export interface SavedImage {
  dir: string;
  manifest: { Config: string; Layers: string[] };
  diffIds: string[];
  cleanup(): void;
}

/** `docker save` the release's image once, unpacked, for shipping to any number of hosts. */
export async function saveImage(cfg: ResolvedConfig, release: string): Promise<SavedImage> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-image-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const dir = path.join(tmp, 'image');
    mkdirSync(dir);
    await execa('docker', ['save', '--output', path.join(tmp, 'image.tar'), imageTag(cfg.app, release)]);
    await execa('tar', ['-xf', path.join(tmp, 'image.tar'), '-C', dir]);
    const [manifest] = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      Config: string;
      Layers: string[];
    }[];
    if (!manifest) throw new SlipwayError('failure', `docker save wrote no image for ${imageTag(cfg.app, release)}`);
    const config = JSON.parse(readFileSync(path.join(dir, manifest.Config), 'utf8')) as {
      rootfs: { diff_ids: string[] };
    };
    return { dir, manifest, diffIds: config.rootfs.diff_ids, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Ship a saved image to one host; returns how many layers were sent and skipped, and the bytes sent. */
export async function shipImage(
  host: Host,
  image: SavedImage,
): Promise<{ sent: number; skipped: number; bytes: number }> {
  const present = await host.run(sh(HOST_LAYERS), { sudo: true });
  const hostImages = present.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
  const send = layersToSend(image.diffIds, hostImages);
  const files = [
    'manifest.json',
    image.manifest.Config,
    ...(existsSync(path.join(image.dir, 'repositories')) ? ['repositories'] : []),
    ...send.map((i) => image.manifest.Layers[i]!),
  ];
  const archive = path.join(path.dirname(image.dir), `ship-${host.name.replace(/[^\w.-]/g, '_')}.tar.gz`);
  try {
    await execa('tar', ['-czf', archive, '-C', image.dir, ...files]);
    const r = await host.run(sh('gunzip | docker load --quiet'), { inputFile: archive, sudo: true, reject: false });
    if (r.exitCode !== 0)
      throw new SlipwayError('failure', `${host.name}: docker load failed`, {
        details: tail(r.stderr || r.stdout, 15),
      });
    return { sent: send.length, skipped: image.diffIds.length - send.length, bytes: statSync(archive).size };
  } finally {
    rmSync(archive, { force: true });
  }
}
