// init, setup, config
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { api } from './api.ts';
import type { Cli } from './cli.ts';

export function registerSetupCommands(cli: Cli): void {
  cli.program
    .command('init')
    .description('write a commented slipway.yml for the app in this folder')
    .option('--force', 'overwrite an existing file', false)
    .action(async (o: { force: boolean }) => {
      // the templates look at the runtimes, which every other command loads only with the engine
      const { detectStack, initialConfig, stackName } = await import('./init.ts');
      const file = cli.globals().config;
      if (existsSync(file) && !o.force)
        throw new SlipwayError('config', `${file} already exists`, { hint: 'edit it, or pass --force to overwrite' });
      const stack = detectStack(path.dirname(path.resolve(file)));
      writeFileSync(file, initialConfig(stack));
      cli
        .events()
        .info(
          `Wrote ${file} for a ${stackName(stack)}. Next: set your host under environments.production.hosts, ` +
            'then run: slipway setup production',
        );
    });

  cli.program
    .command('setup <env>')
    .description('bootstrap the hosts: packages, service user, folders, unit or supervisor (idempotent)')
    .action(async (env: string) => {
      const cfg = cli.resolve(env);
      const result = await api().setup(cfg, cli.events());
      // a host that never had a release catches up with its peers: copied from one of them, no rebuild
      const caught = await api().sync(cfg, cli.events(), { onlyNew: true, command: cli.commandLine });
      const caughtUp = caught?.copy.length || caught?.activate.length ? caught : undefined;
      if (cli.globals().json) cli.json({ ok: true, hosts: result, ...(caughtUp ? { caught_up: caughtUp } : {}) });
    });

  cli.program
    .command('config [env]')
    .description('print the merged configuration of an environment (secrets redacted), or the JSON Schema')
    .option('--schema', 'print the JSON Schema of slipway.yml', false)
    .action((env: string | undefined, o: { schema: boolean }) => {
      if (o.schema) {
        process.stdout.write(`${JSON.stringify(api().jsonSchema(), null, 2)}\n`);
        return;
      }
      const loaded = api().loadConfig(cli.globals().config);
      const names = env ? [env] : Object.keys(loaded.data.environments);
      const merged = Object.fromEntries(names.map((n) => [n, redacted(api().resolveEnvironment(loaded, n))]));
      // no anchors: settings shared by several environments are printed in full in each
      process.stdout.write(
        cli.globals().json
          ? `${JSON.stringify(merged, null, 2)}\n`
          : api().stringify(merged, { aliasDuplicateObjects: false }),
      );
    });
}

/** Sections that only one runtime reads: shown for that runtime only. */
const RUNTIME_SECTIONS: Record<string, ResolvedConfig['runtime'][]> = {
  docker: ['docker'],
  static_dir: ['static'],
  log_max_size: ['supervisor'],
};

/**
 * The merged config as a user wrote it, for one environment: hosts and roles, the settings that
 * apply to its runtime, secrets by name only and webhook URLs by origin only (their path is often a token).
 */
export function redacted(cfg: ResolvedConfig): Record<string, unknown> {
  const {
    dir: _dir,
    file: _file,
    appDir: _appDir,
    targets,
    roles,
    secrets,
    webhooks,
    environment: _env,
    userGiven: _userGiven,
    ...rest
  } = cfg;
  const settings = Object.fromEntries(
    Object.entries(rest).filter(([k]) => !RUNTIME_SECTIONS[k] || RUNTIME_SECTIONS[k].includes(cfg.runtime)),
  );
  const roleNames = Object.keys(roles);
  const byRole =
    roleNames.length > 1 || roleNames[0] !== 'web'
      ? { roles: Object.fromEntries(roleNames.map((r) => [r, roleOverrides(cfg, roles[r]!)])) }
      : {};
  return {
    ...settings,
    hosts: targets.map((t) => t.name),
    ...byRole,
    secrets: Object.fromEntries(secrets.map((s) => [s, process.env[s] === undefined ? '(not set)' : '[redacted]'])),
    webhooks: webhooks.map((w) => ({ ...w, url: `${api().webhookLabel(w.url)}/[redacted]` })),
  };
}

/** A role's hosts and the settings it changes from the environment's. */
function roleOverrides(env: ResolvedConfig, role: ResolvedConfig): Record<string, unknown> {
  const changed = Object.entries(role).filter(
    ([k, v]) =>
      !['targets', 'roles'].includes(k) && JSON.stringify(v) !== JSON.stringify(env[k as keyof ResolvedConfig]),
  );
  return { hosts: role.targets.map((t) => t.name), ...Object.fromEntries(changed) };
}
