// slipway secrets list|get|set|unset|edit ENV: the environment's age-encrypted secrets file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlipwayError } from '../errors.ts';
import { api } from './api.ts';
import type { Cli } from './cli.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerSecretsCommands(cli: Cli): void {
  const secrets = cli.program
    .command('secrets')
    .description(
      "an environment's secrets, encrypted with age in secrets/<env>.age (its key stays outside the repository)",
    );
  const target = (env: string) => {
    const cfg = cli.resolve(env);
    return { dir: cfg.dir, app: cfg.app, environment: cfg.environment };
  };

  secrets
    .command('list <env>')
    .description('the names of the secrets (never their values)')
    .action(async (env: string) => {
      const names = Object.keys(await api().readSecrets(target(env))).sort();
      if (cli.globals().json) cli.json({ ok: true, environment: env, names });
      else process.stdout.write(names.map((n) => `${n}\n`).join(''));
    });

  secrets
    .command('get <env> <name>')
    .description("print one secret's value on stdout")
    .action(async (env: string, name: string) => {
      const values = await api().readSecrets(target(env));
      if (!(name in values))
        throw new SlipwayError('config', `${env}: no secret ${name}`, { hint: `see: slipway secrets list ${env}` });
      process.stdout.write(`${values[name]}\n`);
    });

  secrets
    .command('set <env> <name> [value]')
    .description('set a secret; without VALUE it is read from stdin (so it stays out of your shell history)')
    .action(async (env: string, name: string, value: string | undefined) => {
      const t = target(env);
      const v = value ?? (await readStdin()).replace(/\r?\n$/, '');
      api().checkSecret(name, v);
      const values = await api().readSecrets(t);
      values[name] = v;
      const r = await api().writeSecrets(t, values);
      report(cli, t, r.createdKey, `${name} set`);
    });

  secrets
    .command('unset <env> <name>')
    .description('remove a secret')
    .action(async (env: string, name: string) => {
      const t = target(env);
      const values = await api().readSecrets(t);
      if (!(name in values))
        throw new SlipwayError('config', `${env}: no secret ${name}`, { hint: `see: slipway secrets list ${env}` });
      delete values[name];
      await api().writeSecrets(t, values);
      report(cli, t, undefined, `${name} removed`);
    });

  secrets
    .command('edit <env>')
    .description(
      'edit the secrets as NAME=value lines in $VISUAL or $EDITOR (a private temporary file, removed afterwards)',
    )
    .action(async (env: string) => {
      const t = target(env);
      const before = await api().readSecrets(t);
      // memory-backed when the system has it; readable by you only; removed on every path
      const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'slipway-secrets-'));
      const file = path.join(dir, `${env}.env`);
      try {
        writeFileSync(
          file,
          `# ${env} secrets: NAME=value, one per line; saved encrypted when you close the ` +
            `editor\n${api().formatSecrets(before)}`,
          { mode: 0o600 },
        );
        const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
        // the editor setting may carry arguments ("code --wait"): split into words, never interpreted
        const r = spawnSync('/bin/sh', ['-c', '$1 "$2"', 'slipway-edit', editor, file], { stdio: 'inherit' });
        if (r.status !== 0)
          throw new SlipwayError(
            'failure',
            `the editor (${editor}) exited with ${r.status ?? r.signal}; nothing changed`,
          );
        const after = api().parseSecrets(readFileSync(file, 'utf8'), `${env} secrets`);
        for (const [k, v] of Object.entries(after)) api().checkSecret(k, v);
        const changed = JSON.stringify(Object.entries(after).sort()) !== JSON.stringify(Object.entries(before).sort());
        if (!changed) return void cli.events().info('No change');
        const w = await api().writeSecrets(t, after);
        report(cli, t, w.createdKey, `${Object.keys(after).length} secret(s) saved`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}

function report(
  cli: Cli,
  t: { dir: string; app: string; environment: string },
  createdKey: string | undefined,
  what: string,
): void {
  const p = api().secretsPaths(t);
  const lines = [`${what} in ${path.relative(process.cwd(), p.file) || p.file} (commit it)`];
  if (createdKey) {
    lines.push(
      `Created the ${t.environment} key: ${createdKey} (mode 0600). Keep it out of the repository; give it to ` +
        `whoever deploys ${t.environment}, or set $${p.keyVar} in CI.`,
      `Its public half is in ${path.relative(process.cwd(), p.recipients) || p.recipients} (commit it).`,
    );
  }
  if (cli.globals().json) cli.json({ ok: true, environment: t.environment, file: p.file, created_key: createdKey });
  else for (const l of lines) cli.events().info(l);
}
