// Building a release's image and getting it onto a host without a registry.
// Each host is asked first what it has: an image it already holds (an unchanged
// build) is only tagged there, and nothing is exported. Otherwise the image is
// exported once (`docker save`: the engine can only export a whole image) and
// each host gets only the layers it lacks (by chain: the layer and all below),
// since `docker load` reads a layer's file only when the host lacks that layer.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import { sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { ImageLack, ImageShipping } from './runtime.ts';
import HOST_LAYERS from '../scripts/docker-image-host-layers.sh';

export function imageTag(app: string, release: string): string {
  return `slipway-${app}:${release}`;
}

export const dockerImageShipping: ImageShipping = {
  builtHere: (cfg, release) =>
    cfg.docker.build === 'local' && !cfg.docker.image ? imageTag(cfg.app, release) : undefined,
  async buildHere(cfg, release, srcDir, onLine) {
    await buildImageLocally(cfg, release, srcDir, onLine);
    return builtImage(imageTag(cfg.app, release));
  },
  hostStep: (cfg) => (cfg.docker.image ? `Pull image ${cfg.docker.image} on the host` : 'Build image on the host'),
  buildOnHost: buildImageOnHost,
  lacks: (host, image) => hostLacks(host, image as BuiltImage),
  async export(image) {
    return { bytes: (await (image as BuiltImage).saved()).bytes };
  },
  ship: (host, image, lacks) => shipImage(host, image as BuiltImage, lacks),
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
  tag = imageTag(cfg.app, release),
): Promise<void> {
  const child = execa('docker', ['build', '--tag', tag, '--file', path.join(srcDir, cfg.docker.dockerfile), srcDir], {
    all: true,
    reject: false,
  });
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
  if (cfg.docker.image) return pullImageOnHost(host, cfg.docker.image, imageTag(cfg.app, release), onLine);
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

/** `docker.image`: the host pulls the image (its own registry login) and tags it as the release's. */
async function pullImageOnHost(host: Host, image: string, tag: string, onLine?: (l: string) => void): Promise<void> {
  const pulled = await host.run(['docker', 'pull', '--quiet', image], { sudo: true, reject: false, onLine });
  if (pulled.exitCode !== 0)
    throw new SlipwayError('failure', `${host.name}: docker pull ${image} failed (exit ${pulled.exitCode})`, {
      details: tail(pulled.stderr || pulled.stdout, 30),
      hint: 'a private registry needs `docker login` on the host, as root',
    });
  await host.run(['docker', 'tag', image, tag], { sudo: true });
}

interface SavedImage {
  dir: string;
  manifest: { Config: string; Layers: string[] };
  /** the size of the layers and config exported */
  bytes: number;
}

/** An image built here: its id and layers, and its export, made once when a host needs it. */
export interface BuiltImage {
  tag: string;
  id: string;
  diffIds: string[];
  saved(): Promise<SavedImage>;
  cleanup(): void;
}

async function builtImage(tag: string): Promise<BuiltImage> {
  const r = await execa('docker', ['image', 'inspect', '--format', '{{.Id}} {{json .RootFS.Layers}}', tag]);
  const [id = '', layers = '[]'] = r.stdout.trim().split(' ');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-image-'));
  let saving: Promise<SavedImage> | undefined;
  return {
    tag,
    id,
    diffIds: JSON.parse(layers) as string[],
    saved: () => (saving ??= saveImage(tag, tmp)),
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** `docker save` the image, unpacked into dir, for shipping to any number of hosts. */
async function saveImage(tag: string, tmp: string): Promise<SavedImage> {
  const dir = path.join(tmp, 'image');
  mkdirSync(dir);
  await execa('docker', ['save', '--output', path.join(tmp, 'image.tar'), tag]);
  await execa('tar', ['-xf', path.join(tmp, 'image.tar'), '-C', dir]);
  const bytes = statSync(path.join(tmp, 'image.tar')).size;
  rmSync(path.join(tmp, 'image.tar'));
  const [manifest] = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as SavedImage['manifest'][];
  if (!manifest) throw new SlipwayError('failure', `docker save wrote no image for ${tag}`);
  return { dir, manifest, bytes };
}

/** What a host lacks of the image: nothing when it has the image itself, else the layers it has no chain of. */
async function hostLacks(host: Host, image: BuiltImage): Promise<ImageLack> {
  const present = await host.run(sh(HOST_LAYERS), { sudo: true });
  const images = present.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ id: l.slice(0, l.indexOf(' ')), layers: JSON.parse(l.slice(l.indexOf(' ') + 1)) as string[] }));
  if (images.some((i) => i.id === image.id)) return { image: false, layers: [] };
  return {
    image: true,
    layers: layersToSend(
      image.diffIds,
      images.map((i) => i.layers),
    ),
  };
}

/** Get the image onto one host: tagged when it has it, else loaded from its missing layers. */
async function shipImage(
  host: Host,
  image: BuiltImage,
  lacks: ImageLack,
): Promise<{ sent: number; skipped: number; bytes: number }> {
  if (!lacks.image) {
    await host.run(['docker', 'tag', image.id, image.tag], { sudo: true });
    return { sent: 0, skipped: image.diffIds.length, bytes: 0 };
  }
  const saved = await image.saved();
  const files = [
    'manifest.json',
    saved.manifest.Config,
    ...(existsSync(path.join(saved.dir, 'repositories')) ? ['repositories'] : []),
    ...lacks.layers.map((i) => saved.manifest.Layers[i]!),
  ];
  const archive = path.join(path.dirname(saved.dir), `ship-${host.name.replace(/[^\w.-]/g, '_')}.tar.gz`);
  try {
    await execa('tar', ['-czf', archive, '-C', saved.dir, ...files]);
    const r = await host.run(sh('gunzip | docker load --quiet'), { inputFile: archive, sudo: true, reject: false });
    if (r.exitCode !== 0)
      throw new SlipwayError('failure', `${host.name}: docker load failed`, {
        details: tail(r.stderr || r.stdout, 15),
      });
    return {
      sent: lacks.layers.length,
      skipped: image.diffIds.length - lacks.layers.length,
      bytes: statSync(archive).size,
    };
  } finally {
    rmSync(archive, { force: true });
  }
}
