// The command line: parse, call the engine, render. No deploy logic here.
import { getEventListeners } from 'node:events';
import { Command, CommanderError, Option } from 'commander';
import { SlipwayError } from '../errors.ts';
import { Events } from '../engine/events.ts';
import { api, loadApi } from './api.ts';
import type { Cli, GlobalOptions } from './cli.ts';
import { registerDashboardCommand } from './dashboard.ts';
import { registerDeployCommands } from './deploy.ts';
import { registerInspectCommands } from './inspect.ts';
import { registerSecretsCommands } from './secrets.ts';
import { registerSetupCommands } from './setup.ts';
import { printJson, Terminal } from './terminal.ts';

declare const SLIPWAY_VERSION: string;

export async function main(argv: string[]): Promise<number> {
  const program = new Command('slipway')
    .description(
      'Deploy apps to your own servers over SSH: versioned releases, atomic switch, health-checked restart, ' +
        'instant rollback.',
    )
    .version(typeof SLIPWAY_VERSION === 'string' ? SLIPWAY_VERSION : 'dev', '-V, --version')
    .addOption(new Option('-c, --config <file>', 'config file').default('slipway.yml').env('SLIPWAY_CONFIG'))
    .option('--json', 'print results as JSON on stdout (progress stays on stderr)', false)
    .option('-v, --verbose', 'show every command run on every host', false)
    .option('-q, --quiet', 'print only errors and results', false)
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', loadApi);
  let events: Events | undefined;
  // Ctrl-C or SIGTERM cancels the run: a session stops and cleans up. A second one, or one that no session
  // hears (nothing to clean up), leaves at once.
  const cancel = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancel.signal.aborted || getEventListeners(cancel.signal, 'abort').length === 0) process.exit(130);
    cancel.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const cli: Cli = {
    program,
    commandLine: ['slipway', ...argv].join(' '),
    globals: () => program.opts<GlobalOptions>(),
    events: () => (events ??= runEvents(program.opts<GlobalOptions>(), cancel.signal)),
    json: (value) => printJson(cli.events(), value),
    resolve: (env) => api().resolveEnvironment(api().loadConfig(program.opts<GlobalOptions>().config), env),
  };
  registerSetupCommands(cli);
  registerDeployCommands(cli);
  registerInspectCommands(cli);
  registerSecretsCommands(cli);
  registerDashboardCommand(cli);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return renderError(e, cli.events(), program.opts<GlobalOptions>().json);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The run's events, rendered on this terminal. */
function runEvents(o: GlobalOptions, signal: AbortSignal): Events {
  const events = new Events({ verbose: o.verbose, signal });
  new Terminal(events, { quiet: o.quiet });
  return events;
}

export function renderError(e: unknown, events: Events, json: boolean): number {
  const err =
    e instanceof SlipwayError
      ? e
      : new SlipwayError('failure', e instanceof Error ? e.message : String(e), {
          details: process.env.SLIPWAY_DEBUG && e instanceof Error ? e.stack : undefined,
        });
  const lines = [`✖ ${err.message}`];
  if (err.details) lines.push(...err.details.split('\n').map((l) => `    ${l}`));
  if (err.hint) lines.push(`  → ${err.hint}`);
  process.stderr.write(`${events.redact(lines.join('\n'))}\n`);
  if (json)
    printJson(events, {
      ok: false,
      error: { kind: err.kind, exit_code: err.exitCode, message: err.message, details: err.details, hint: err.hint },
    });
  return err.exitCode;
}
