// `slipway build --output DIR/ --sign ENV…`: the release as an artifact in a channel folder (../sources/channel.ts),
// signed for each environment named, with the folder's index updated. CI uploads the folder where the hosts'
// agents read it (pull.source.artifacts).
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/load.ts';
import { readSigningKey, signArtifact } from '../release/signing.ts';
import { addToChannel, type ChannelEntry, signedFacts } from '../sources/channel.ts';
import { type PreparedRelease, writeArtifact } from './prepare.ts';

/** `--output` names a channel folder (it ends with / or is one) rather than a file. */
export function isChannelOutput(output: string): boolean {
  return output.endsWith('/') || (existsSync(output) && statSync(output).isDirectory());
}

export async function publishArtifact(
  release: PreparedRelease,
  cfg: ResolvedConfig,
  dir: string,
  environments: string[],
): Promise<{ file: string; sha256: string; entry: ChannelEntry }> {
  // the keys first: a missing one stops the build before anything is written
  const keys = environments.map((environment) => ({ environment, key: readSigningKey({ app: cfg.app, environment }) }));
  mkdirSync(dir, { recursive: true });
  const name = `${release.id}.tar.gz`;
  const tmp = path.join(dir, `.${name}.${process.pid}`);
  const written = await writeArtifact(release, cfg, tmp);
  const file = path.join(dir, name);
  rmSync(`${tmp}.sha256`);
  writeFileSync(`${file}.sha256`, `${written.sha256}  ${name}\n`);
  renameSync(tmp, file);
  const entry: ChannelEntry = {
    release: release.id,
    file: name,
    sha256: written.sha256,
    built_at: new Date().toISOString(),
    ...(release.sha ? { sha: release.sha } : {}),
    ...(release.subject ? { subject: release.subject } : {}),
    signatures: {},
  };
  for (const { environment, key } of keys)
    entry.signatures[environment] = signArtifact(key, signedFacts(cfg.app, environment, entry));
  addToChannel(dir, cfg.app, entry);
  return { file, sha256: written.sha256, entry };
}
