// deploy, rollback, build
import path from 'node:path';
import { SlipwayError } from '../errors.ts';
import { formatBytes } from '../text.ts';
import { api } from './api.ts';
import { type Cli, hostLimit, releaseArg, seconds } from './cli.ts';
import { statSync } from 'node:fs';

export function registerDeployCommands(cli: Cli): void {
  cli.program
    .command('deploy <env>')
    .description('build a release, ship what changed, switch, restart, check health (rolls back on failure)')
    .option('--allow-dirty', 'deploy uncommitted changes (the release id ends in -dirty)', false)
    .option('--artifact <file>', 'deploy a release built with `slipway build --output` (checked against FILE.sha256)')
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .option(
      '--limit <n|pct>',
      'rolling deploy: N hosts (or N% of them) at a time, each group healthy before the next',
      hostLimit,
    )
    .option('--pause <seconds>', 'wait this long between groups of a rolling deploy', seconds)
    .option('--force', 'deploy outside the deploy windows (the override is recorded)', false)
    .option(
      '--allow-unreachable',
      'go on without hosts that cannot be reached (they show OutOfSync; `slipway sync` catches them up)',
      false,
    )
    .action(
      async (
        env: string,
        o: {
          allowDirty: boolean;
          allowUnreachable: boolean;
          artifact?: string;
          lockWait?: number;
          limit?: number | string;
          pause?: number;
          force: boolean;
        },
      ) => {
        const events = cli.events();
        const result = await api().deploy(cli.resolve(env), events, {
          allowDirty: o.allowDirty,
          artifact: o.artifact && path.resolve(o.artifact),
          lockWait: o.lockWait,
          limit: o.limit,
          pause: o.pause,
          force: o.force,
          allowUnreachable: o.allowUnreachable,
          command: cli.commandLine,
        });
        if (cli.globals().json) cli.json({ ok: true, ...result });
      },
    );

  cli.program
    .command('sync <env>')
    .description(
      "bring every host to the environment's release: copied from a peer host (checked by digest) to hosts " +
        'that lack it, switched to on hosts that keep it; no rebuild',
    )
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .option('--force', 'sync outside the deploy windows (the override is recorded)', false)
    .action(async (env: string, o: { lockWait?: number; force: boolean }) => {
      const events = cli.events();
      const result = await api().sync(cli.resolve(env), events, {
        lockWait: o.lockWait,
        force: o.force,
        command: cli.commandLine,
      });
      if (cli.globals().json) cli.json({ ok: true, ...result });
    });

  cli.program
    .command('plan <env>')
    .description('show every step a deploy would run on every host, changing nothing (no build, no lock, no write)')
    .action(async (env: string) => {
      const events = cli.events();
      const p = await api().plan(cli.resolve(env), events);
      if (cli.globals().json) cli.json({ ok: true, ...p });
      else process.stdout.write(events.redact(api().renderPlan(p)));
    });

  cli.program
    .command('promote <from> <to>')
    .description(
      'deploy to <to> the very release that is live and healthy in <from> (same files, same checksum, no rebuild)',
    )
    .option(
      '--force',
      'promote a release that never passed <from>, to an environment not `after: <from>`, or outside the deploy ' +
        'windows (recorded)',
      false,
    )
    .option(
      '--release <id>',
      'promote this kept release of <from> instead of the live one (it must have passed there)',
      releaseArg,
    )
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .action(async (from: string, to: string, o: { force: boolean; lockWait?: number; release?: string }) => {
      const events = cli.events();
      const result = await api().promote(cli.resolve(from), cli.resolve(to), events, {
        force: o.force,
        lockWait: o.lockWait,
        release: o.release,
        command: cli.commandLine,
      });
      if (cli.globals().json) cli.json({ ok: true, promoted_from: from, ...result });
    });

  cli.program
    .command('mark-bad <env>')
    .argument('<release>', 'release id (or its start)', releaseArg)
    .description('mark a release bad: rollbacks skip it and it is never promoted (it stays live until you roll back)')
    .option('--reason <text>', 'why, for the history')
    .action(async (env: string, id: string, o: { reason?: string }) => {
      const events = cli.events();
      const result = await api().markBad(cli.resolve(env), events, id, {
        reason: o.reason,
        command: cli.commandLine,
      });
      if (cli.globals().json) cli.json({ ok: true, ...result });
      else events.info(`${result.release} is marked bad in ${env}`);
    });

  for (const [name, answer] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    cli.program
      .command(`${name} <release>`)
      .description(`${name} a deploy waiting for approval (from any terminal or machine that can reach the hosts)`)
      .option('-e, --env <env>', 'the environment (default: the one whose deploy of <release> is waiting)')
      .option('--reason <text>', 'why, for the history')
      .action(async (id: string, o: { env?: string; reason?: string }) => {
        const events = cli.events();
        const loaded = api().loadConfig(cli.globals().config);
        const envs = o.env
          ? [o.env]
          : Object.keys(loaded.data.environments).filter((e) => api().resolveEnvironment(loaded, e).approval.required);
        if (!envs.length)
          throw new SlipwayError('config', `${loaded.file}: no environment requires approval`, {
            hint: 'pass --env ENV',
          });
        const result = await api().answer(
          envs.map((e) => api().resolveEnvironment(loaded, e)),
          events,
          id,
          answer,
          o.reason,
        );
        if (cli.globals().json) cli.json({ ok: true, ...result });
        else events.info(`${id} ${answer} in ${result.environment} by ${result.by}`);
      });
  }

  cli.program
    .command('rollback <env>')
    .argument('[release]', 'release id (or its start); default: the previous healthy release', releaseArg)
    .description('make the previous healthy release (or the given one) live again: no build, no transfer')
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .action(async (env: string, id: string | undefined, o: { lockWait?: number }) => {
      const events = cli.events();
      const result = await api().rollback(cli.resolve(env), events, {
        id,
        lockWait: o.lockWait,
        command: cli.commandLine,
      });
      if (cli.globals().json) cli.json({ ok: true, ...result });
    });

  cli.program
    .command('build')
    .description(
      'build the release locally; with --output FILE, write it as a portable .tar.gz artifact with a checksum; ' +
        'with --output DIR/, publish it into a channel folder (index.json) that agents pull from',
    )
    .option('-o, --output <file|dir/>', 'artifact to write (FILE.sha256 beside it), or a channel folder')
    .option('-e, --env <env>', 'environment whose settings to use (default: the first one)')
    .option('--sign <env>', "sign the published artifact with ENV's deploy key (repeatable)", collect, [])
    .option('--allow-dirty', 'build from uncommitted changes', false)
    .action(async (o: { output?: string; env?: string; sign: string[]; allowDirty: boolean }) => {
      const channel = !!o.output && api().isChannelOutput(o.output);
      if (o.sign.length && !channel)
        throw new SlipwayError('config', '--sign: signs an artifact published into a channel folder', {
          hint: 'pass --output DIR/ (ending in /)',
        });
      const events = cli.events();
      const loaded = api().loadConfig(cli.globals().config);
      const cfg = api().resolveEnvironment(loaded, o.env ?? Object.keys(loaded.data.environments)[0]!);
      for (const env of o.sign) api().resolveEnvironment(loaded, env); // a typo'd environment stops here
      const release = await api().prepareRelease(cfg, events, { allowDirty: o.allowDirty });
      let artifact: { file: string; sha256: string } | undefined;
      if (o.output) {
        artifact = await events.step(channel ? 'Publish artifact' : 'Write artifact', async (c) => {
          const a = channel
            ? await api().publishArtifact(release, cfg, path.resolve(o.output!), o.sign)
            : await api().writeArtifact(release, cfg, o.output!);
          c.done(`${path.basename(a.file)}, ${formatBytes(statSync(a.file).size)}`);
          return a;
        });
        events.info(
          channel
            ? `Release ${release.id}: ${artifact.file}, in ${path.join(path.resolve(o.output), 'index.json')}` +
                (o.sign.length ? `, signed for ${o.sign.join(', ')}` : '; not signed: no agent deploys it')
            : `Release ${release.id}: ${artifact.file}\n  sha256 ${artifact.sha256} (in ${artifact.file}.sha256)\n  ` +
                `deploy it with: slipway deploy <env> --artifact ${o.output}`,
        );
      } else {
        events.info(`Release ${release.id}: ${release.files.length} files (use --output FILE to write an artifact)`);
      }
      if (cli.globals().json)
        cli.json({ ok: true, release: release.id, sha: release.sha, files: release.files.length, artifact });
    });

  const keys = cli.program
    .command('keys')
    .description("an environment's deploy key: signs the artifacts its hosts' agents pull (ed25519)");
  keys
    .command('init <env>')
    .description('make the key pair; the private key stays on this machine, the public key goes in slipway.yml')
    .action((env: string) => {
      const cfg = cli.resolve(env);
      const k = api().createSigningKey(cfg);
      if (cli.globals().json) return cli.json({ ok: true, file: k.file, public_key: k.publicKey });
      process.stdout.write(
        `${env}: private key written to ${k.file} (mode 0600; for CI, its text goes in ` +
          `$${api().signingKeyPaths(cfg).variable})\n` +
          `add to slipway.yml, under environments.${env}.pull:\n  public_key: ${k.publicKey}\n`,
      );
    });
  keys
    .command('show <env>')
    .description('print the public key of the deploy key on this machine')
    .action((env: string) => {
      const cfg = cli.resolve(env);
      const publicKey = api().publicKeyText(api().readSigningKey(cfg));
      if (cli.globals().json) return cli.json({ ok: true, public_key: publicKey });
      process.stdout.write(`${publicKey}\n`);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
