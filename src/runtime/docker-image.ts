// Building a release's image and getting it onto a host without a registry.
// `docker save` writes every layer; `docker load` only reads a layer's file
// when the host lacks that layer (by chain: the layer and all below it), so
// the archive sent leaves out the layers the host already has.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import { sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import { imageTag } from './docker.ts';

/** Indexes of the layers to send: those whose chain (the layer and all below) no host image has (pure). */
export function layersToSend(diffIds: string[], hostImages: string[][]): number[] {
  const has = (i: number) => hostImages.some((layers) => layers.length > i && diffIds.slice(0, i + 1).every((d, j) => layers[j] === d));
  return diffIds.map((_, i) => i).filter((i) => !has(i));
}

export async function buildImageLocally(cfg: ResolvedConfig, release: string, srcDir: string, onLine?: (line: string) => void): Promise<void> {
  const child = execa('docker', ['build', '--tag', imageTag(cfg.app, release), '--file', path.join(srcDir, cfg.docker.dockerfile), srcDir], { all: true, reject: false });
  if (onLine) child.all?.on('data', (c: Buffer) => c.toString().split('\n').filter(Boolean).forEach(onLine));
  const r = await child;
  if (r.exitCode !== 0) throw new SlipwayError('failure', `docker build failed (exit ${r.exitCode})`, { details: tail(String(r.all ?? ''), 30), hint: `check ${cfg.docker.dockerfile}; the host was not changed` });
}

export async function buildImageOnHost(host: Host, cfg: ResolvedConfig, release: string, releaseDir: string, onLine?: (line: string) => void): Promise<void> {
  const r = await host.run(['docker', 'build', '--tag', imageTag(cfg.app, release), '--file', path.posix.join(releaseDir, cfg.docker.dockerfile), releaseDir], { sudo: true, reject: false, onLine });
  if (r.exitCode !== 0) throw new SlipwayError('failure', `${host.name}: docker build failed (exit ${r.exitCode})`, { details: tail(r.stderr || r.stdout, 30) });
}

const HOST_LAYERS = `ids=$(docker image ls --quiet --no-trunc | sort -u)
[ -z "$ids" ] || docker image inspect --format '{{json .RootFS.Layers}}' $ids`;

/** Ship the release's image; returns how many layers were sent and skipped, and the bytes sent. */
export async function shipImage(host: Host, cfg: ResolvedConfig, release: string): Promise<{ sent: number; skipped: number; bytes: number }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-image-'));
  try {
    const present = await host.run(sh(HOST_LAYERS), { sudo: true });
    const hostImages = present.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
    const unpacked = path.join(tmp, 'image');
    await execa('docker', ['save', '--output', path.join(tmp, 'image.tar'), imageTag(cfg.app, release)]);
    await execa('mkdir', ['-p', unpacked]);
    await execa('tar', ['-xf', path.join(tmp, 'image.tar'), '-C', unpacked]);
    const [manifest] = JSON.parse(readFileSync(path.join(unpacked, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    if (!manifest) throw new SlipwayError('failure', `docker save wrote no image for ${imageTag(cfg.app, release)}`);
    const config = JSON.parse(readFileSync(path.join(unpacked, manifest.Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    const send = layersToSend(config.rootfs.diff_ids, hostImages);
    const files = ['manifest.json', manifest.Config, ...(existsSync(path.join(unpacked, 'repositories')) ? ['repositories'] : []), ...send.map((i) => manifest.Layers[i]!)];
    const archive = path.join(tmp, 'ship.tar.gz');
    await execa('tar', ['-czf', archive, '-C', unpacked, ...files]);
    const r = await host.run(sh('gunzip | docker load --quiet'), { inputFile: archive, sudo: true, reject: false });
    if (r.exitCode !== 0) throw new SlipwayError('failure', `${host.name}: docker load failed`, { details: tail(r.stderr || r.stdout, 15) });
    return { sent: send.length, skipped: config.rootfs.diff_ids.length - send.length, bytes: statSync(archive).size };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
