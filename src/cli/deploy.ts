// deploy, rollback, build
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { formatBytes } from '../output/reporter.ts';
import { api } from './api.ts';
import type { Cli } from './main.ts';
import { statSync } from 'node:fs';

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

/** `--limit`: a host count or a percentage */
export function hostLimit(value: string): number | string {
  if (/^[1-9]\d*$/.test(value)) return Number(value);
  if (/^(100|[1-9]\d?)%$/.test(value)) return value;
  throw new InvalidArgumentError('expected a number of hosts (2) or a percentage (25%)');
}

export function registerDeployCommands(cli: Cli): void {
  cli.program
    .command('deploy <env>')
    .description('build a release, ship what changed, switch, restart, check health (rolls back on failure)')
    .option('--allow-dirty', 'deploy uncommitted changes (the release id ends in -dirty)', false)
    .option('--artifact <file>', 'deploy a release built with `slipway build --output` (checked against FILE.sha256)')
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .option('--limit <n|pct>', 'rolling deploy: N hosts (or N% of them) at a time, each group healthy before the next', hostLimit)
    .option('--pause <seconds>', 'wait this long between groups of a rolling deploy', seconds)
    .action(async (env: string, o: { allowDirty: boolean; artifact?: string; lockWait?: number; limit?: number | string; pause?: number }) => {
      const reporter = cli.reporter();
      const result = await api().deploy(cli.resolve(env), reporter, {
        allowDirty: o.allowDirty,
        artifact: o.artifact && path.resolve(o.artifact),
        lockWait: o.lockWait,
        limit: o.limit,
        pause: o.pause,
        command: cli.commandLine,
      });
      if (cli.globals().json) reporter.json({ ok: true, ...result });
    });

  cli.program
    .command('rollback <env> [release]')
    .description('make the previous healthy release (or the given one) live again: no build, no transfer')
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .action(async (env: string, id: string | undefined, o: { lockWait?: number }) => {
      const reporter = cli.reporter();
      const result = await api().rollback(cli.resolve(env), reporter, { id, lockWait: o.lockWait, command: cli.commandLine });
      if (cli.globals().json) reporter.json({ ok: true, ...result });
    });

  cli.program
    .command('build')
    .description('build the release locally; with --output, write it as a portable .tar.gz artifact with a checksum')
    .option('-o, --output <file>', 'artifact to write (FILE.sha256 is written beside it)')
    .option('-e, --env <env>', 'environment whose settings to use (default: the first one)')
    .option('--allow-dirty', 'build from uncommitted changes', false)
    .action(async (o: { output?: string; env?: string; allowDirty: boolean }) => {
      const reporter = cli.reporter();
      const loaded = api().loadConfig(cli.globals().config);
      const cfg = api().resolveEnvironment(loaded, o.env ?? Object.keys(loaded.data.environments)[0]!);
      const release = await api().prepareRelease(cfg, reporter, { allowDirty: o.allowDirty });
      let artifact: { file: string; sha256: string } | undefined;
      if (o.output) {
        artifact = await reporter.step('Write artifact', async (c) => {
          const a = await api().writeArtifact(release, cfg, o.output!);
          c.done(`${path.basename(a.file)}, ${formatBytes(statSync(a.file).size)}`);
          return a;
        });
        reporter.info(`Release ${release.id}: ${artifact.file}\n  sha256 ${artifact.sha256} (in ${artifact.file}.sha256)\n  deploy it with: slipway deploy <env> --artifact ${o.output}`);
      } else {
        reporter.info(`Release ${release.id}: ${release.files.length} files (use --output FILE to write an artifact)`);
      }
      if (cli.globals().json) reporter.json({ ok: true, release: release.id, sha: release.sha, files: release.files.length, artifact });
    });
}
