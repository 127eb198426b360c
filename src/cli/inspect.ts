// releases, history, status, logs, exec, lock, prune
import { Option } from 'commander';
import type { ResolvedConfig } from '../config/load.ts';
import type { Session } from '../engine/session.ts';
import { renderArgv, SlipwayError } from '../errors.ts';
import type { ReleaseInfo } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { api } from './api.ts';
import { type Cli, count, seconds } from './cli.ts';

/** A lock as `status` and `lock status` show it: who, and STALE when its process is provably gone. */
function lockLine(info: Parameters<ReturnType<typeof api>['describeHolder']>[0]): string {
  const stale = api().isStale(info) ? ' — STALE: that process is gone; clear it with `slipway lock release`' : '';
  return `locked by ${api().describeHolder(info)}${stale}`;
}

/** The hosts' webhook secret: the one they have (the first host's), or a new one; every host is given it. */
async function shareWebhookSecret(s: Session, rotate: boolean): Promise<string> {
  const found = await api().eachHost(s.hosts, async (h) => {
    const w = await api().agentWebhook(h, s.cfg.app);
    if (!w)
      throw new SlipwayError('connection', `${h.name}: the agent takes no webhooks for ${s.cfg.app}`, {
        hint: `deploy once with pull.webhook set (slipway deploy ${s.cfg.environment}); slipway status shows the agent`,
      });
    return w.secret;
  });
  const secret = (!rotate && found.find((x): x is string => !!x)) || api().newWebhookSecret();
  await api().eachHost(s.hosts, async (h) => {
    if (found[s.hosts.indexOf(h)] === secret) return;
    if (!(await api().agentSetWebhook(h, s.cfg.app, secret)))
      throw new SlipwayError('connection', `${h.name}: the agent did not take the webhook secret`);
  });
  return secret;
}

/** Read-only commands connect without a step line. */
function quietly<T>(cli: Cli, cfg: ResolvedConfig, fn: (s: Session) => Promise<T>): Promise<T> {
  return api().withSession(cfg, cli.events(), fn, { connectStep: false });
}

function prefix(hosts: Host[], h: Host): string {
  return hosts.length > 1 ? `[${h.name}] ` : '';
}

export function releasesTable(releases: ReleaseInfo[]): string {
  const rows = [...releases]
    .reverse()
    .map((r) => [
      r.current ? '*' : ' ',
      r.id,
      r.status,
      (r.sha ?? '').slice(0, 7),
      r.user ?? '',
      r.time ? r.time.replace('T', ' ').slice(0, 19) : '',
      r.subject ?? '',
    ]);
  const head = [' ', 'RELEASE', 'STATUS', 'SHA', 'BY', 'WHEN (UTC)', 'SUBJECT'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The shell command line `exec` runs: one word is a command line of its own (`"ls | wc -l"`);
 * several words (`-- node -e "console.log(1)"`) are an argv, each word quoted so it arrives as typed.
 */
export function execCommandLine(words: string[]): string {
  if (words.length === 1) {
    if (!words[0]!.trim())
      throw new SlipwayError('config', 'exec: the command is empty → slipway exec ENV -- COMMAND [ARGS…]');
    return words[0]!;
  }
  return renderArgv(words);
}

export function registerInspectCommands(cli: Cli): void {
  const p = cli.program;
  p.command('releases <env>')
    .description('kept releases: id, status, git sha and subject, who, when; * marks the current one')
    .action((env: string) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const states = await api().eachHost(s.hosts, (h) => api().readState(h, s.layout));
        if (cli.globals().json)
          return cli.json(
            Object.fromEntries(
              s.hosts.map((h, i) => [h.name, { current: states[i]!.current, releases: states[i]!.releases }]),
            ),
          );
        s.hosts.forEach((h, i) => {
          process.stdout.write(`${s.hosts.length > 1 ? `${h.name}:\n` : ''}${releasesTable(states[i]!.releases)}\n`);
        });
      }),
    );

  p.command('history <env>')
    .description('deploy history recorded on the hosts: started, succeeded, failed, rolled back')
    .option('-n, --lines <n>', 'last N events (of the last 500 on each host)', count, 20)
    .action((env: string, o: { lines: number }) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const states = await api().eachHost(s.hosts, (h) => api().readState(h, s.layout));
        const events = states
          .flatMap((st) => st.history)
          .sort((a, b) => a.time.localeCompare(b.time))
          .slice(-o.lines);
        if (cli.globals().json) return cli.json(events);
        for (const e of events) {
          const took = e.duration_ms !== undefined ? ` in ${(e.duration_ms / 1000).toFixed(1)}s` : '';
          const from = e.event === 'rolled_back' && e.previous ? ` (from ${e.previous})` : '';
          process.stdout.write(
            `${e.time.replace('T', ' ').slice(0, 19)}  ${e.host.padEnd(12)} ${e.event.padEnd(11)} ` +
              `${e.release}${from}  by ${e.user}@${e.machine}${took}${e.reason ? `  — ${e.reason}` : ''}\n`,
          );
        }
      }),
    );

  p.command('status <env>')
    .description('what runs on each host: state, pid, release, restarts, sync with the environment, health, lock')
    .action((env: string) =>
      api().withSession(
        cli.resolve(env),
        cli.events(),
        async (s) => {
          const hosts = await observeEach(cli, s);
          const rows = [...hosts.flatMap(instanceRows), ...s.unreachable.map(unreachableRow)];
          if (cli.globals().json) return cli.json(rows);
          printStatus(s, hosts);
        },
        // a host that cannot be reached is a fact to show, not a reason to show nothing
        { connectStep: false, allowUnreachable: true },
      ),
    );

  p.command('logs <env>')
    .description("the app's output (journald or supervisor log files)")
    .option('-f, --follow', 'keep printing new lines', false)
    .option('-n, --lines <n>', 'lines to show', count, 100)
    .option('--since <time>', 'only lines since then, e.g. "10 min ago" or "2026-11-22 10:00" (journald, docker)')
    .action((env: string, o: { follow: boolean; lines: number; since?: string }) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const logs = (h: Host) =>
          s.on(h).runtime.logsArgv(s.on(h).cfg, { lines: o.lines, follow: o.follow, since: o.since });
        if (s.hosts.length === 1) {
          const { argv, sudo } = logs(s.hosts[0]!);
          process.exitCode = await s.hosts[0]!.attach(argv, { sudo });
          return;
        }
        await api().eachHost(s.hosts, (h) =>
          h.run(logs(h).argv, {
            sudo: logs(h).sudo,
            onLine: (line) => process.stdout.write(`${prefix(s.hosts, h)}${line}\n`),
          }),
        );
      }),
    );

  p.command('exec <env>')
    .description("run a command in the current release with the app's user and environment: slipway exec ENV -- CMD")
    .addOption(new Option('-i, --interactive', 'interactive: attach a terminal (consoles, REPLs)').default(false))
    .addOption(new Option('-t, --tty').hideHelp().default(false))
    .argument('<command...>')
    .action((env: string, command: string[], opts: { interactive: boolean; tty: boolean }) => {
      const line = execCommandLine(command);
      return quietly(cli, cli.resolve(env), async (s) => {
        const o = { tty: opts.interactive || opts.tty };
        const codes = await api().eachHost(s.hosts.slice(0, o.tty ? 1 : undefined), async (h) => {
          const port = await api().servingPort(s, h);
          const { argv, sudo } = s
            .on(h)
            .runtime.execArgv(s.on(h).cfg, line, { cwd: s.layout.current, tty: o.tty, port });
          if (s.hosts.length === 1) return h.attach(argv, { tty: o.tty, sudo });
          const r = await h.run(argv, {
            sudo,
            reject: false,
            onLine: (l) => process.stdout.write(`${prefix(s.hosts, h)}${l}\n`),
          });
          return r.exitCode;
        });
        process.exitCode = codes.find((c) => c !== 0) ?? 0;
      });
    });

  const agent = p.command('agent').description('the slipway agent on each host');
  agent
    .command('pull <env>')
    .description("ask each host's agent to look at the pull source now (as a webhook would); see: slipway status")
    .action((env: string) =>
      quietly(cli, cli.resolve(env), async (s) => {
        await api().eachHost(s.hosts, async (h) => {
          if (!(await api().agentPull(h, s.cfg.app)))
            throw new SlipwayError('connection', `${h.name}: the agent did not answer, or the app does not pull`, {
              hint: `slipway status ${env} says whether the agent runs; \`pull:\` in slipway.yml turns pull mode on`,
            });
          cli.events().info(`${h.name}: the agent looks at the source now`);
        });
      }),
    );
  agent
    .command('webhook <env>')
    .description('the URL and secret CI calls to wake the agents at once (pull.webhook); the same on every host')
    .option('--rotate', 'make a new secret (the old one stops working at once)', false)
    .action((env: string, o: { rotate: boolean }) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const hook = s.cfg.pull?.webhook;
        if (!hook || !s.cfg.proxy)
          throw new SlipwayError('config', `${env}: pull.webhook is not set`, {
            hint: 'set `pull: { webhook: true }` (with `proxy`) in slipway.yml and deploy',
          });
        const secret = await shareWebhookSecret(s, o.rotate);
        const site = s.cfg.proxy.domain
          ? `https://${s.cfg.proxy.domain}`
          : `http://${s.cfg.targets[0]?.host ?? 'HOST'}:${s.cfg.proxy.port}`;
        const url = `${site}${hook}`;
        if (cli.globals().json)
          return cli.json({ url, secret, standard_webhooks_secret: api().standardSecret(secret) });
        process.stdout.write(
          `URL:                      ${url}\n` +
            `GitHub secret:            ${secret}   (content type application/json, "Just the push event")\n` +
            `Standard Webhooks secret: ${api().standardSecret(secret)}\n` +
            `any CI:                   curl -fsS -X POST -H "Authorization: Bearer $SLIPWAY_WEBHOOK_SECRET" ${url}\n`,
        );
      }),
    );
  agent
    .command('logs <env>')
    .description("the agent's log (journald): what it found and did")
    .option('-f, --follow', 'keep printing new lines', false)
    .option('-n, --lines <n>', 'lines to show', count, 100)
    .action((env: string, o: { follow: boolean; lines: number }) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const argv = api().agentLogsArgv(o);
        if (s.hosts.length === 1) {
          process.exitCode = await s.hosts[0]!.attach(argv, { sudo: true });
          return;
        }
        await api().eachHost(s.hosts, (h) =>
          h.run(argv, { sudo: true, onLine: (line) => process.stdout.write(`${prefix(s.hosts, h)}${line}\n`) }),
        );
      }),
    );

  const lock = p.command('lock').description('the deploy lock on each host');
  lock
    .command('status <env>')
    .description('who holds the lock, if anyone')
    .action((env: string) =>
      quietly(cli, cli.resolve(env), async (s) => {
        const held = await api().eachHost(s.hosts, async (h) => {
          const info = await api().readLock(h, s.layout);
          return { host: h.name, lock: info, ...(info ? { stale: api().isStale(info) } : {}) };
        });
        if (cli.globals().json) return cli.json(held);
        for (const { host, lock: info } of held) {
          process.stdout.write(`${host}: ${info ? lockLine(info) : 'unlocked'}\n`);
        }
      }),
    );
  lock
    .command('release <env>')
    .description(
      'remove the lock: refused while its deploy runs on this machine; one from another machine needs --force',
    )
    .option('--force', 'remove a lock held from another machine (make sure that deploy is gone)', false)
    .action((env: string, o: { force: boolean }) =>
      quietly(cli, cli.resolve(env), async (s) => {
        await api().eachHost(s.hosts, async (h) => {
          const info = await api().readLock(h, s.layout);
          if (!info) return cli.events().info(`${h.name}: not locked`);
          const holder = api().describeHolder(info);
          if (api().isRunningHere(info))
            throw new SlipwayError('locked', `${h.name}: the lock is held by a deploy still running here: ${holder}`, {
              hint: `wait for it, or stop it (kill ${info.pid}); its lock is released when it ends`,
            });
          if (!api().isStale(info) && !o.force && info.user) {
            throw new SlipwayError('locked', `${h.name}: the lock is held from another machine: ${holder}`, {
              hint: `if that deploy is gone: slipway lock release ${env} --force`,
            });
          }
          await api().forceReleaseLock(h, s.layout);
          cli.events().info(`${h.name}: released the lock held by ${api().describeHolder(info)}`);
        });
      }),
    );

  p.command('restart <env>')
    .description('restart the current release and check its health (behind the proxy: with no dropped request)')
    .action(async (env: string) => {
      await api().withSession(cli.resolve(env), cli.events(), (s) => api().restart(s, cli.commandLine));
    });

  p.command('stop <env>')
    .description('stop the app on every host (`restart` or the next deploy starts it again)')
    .action(async (env: string) => {
      await api().withSession(cli.resolve(env), cli.events(), (s) => api().stop(s, cli.commandLine));
    });

  p.command('maintenance <env> <state>')
    .description(
      'on: answer every request with 503 and a maintenance page (through the proxy); off: serve the app again',
    )
    .option(
      '-m, --message <text>',
      'text of the maintenance page',
      'We are doing some maintenance and will be back shortly.',
    )
    .action(async (env: string, state: string, o: { message: string }) => {
      if (state !== 'on' && state !== 'off')
        throw new SlipwayError('config', `maintenance: expected "on" or "off", got "${state}"`);
      await api().withSession(cli.resolve(env), cli.events(), (s) =>
        api().maintenance(s, state === 'on', o.message, cli.commandLine),
      );
    });

  p.command('prune <env>')
    .description(
      'delete releases beyond keep_releases, failed ones first (never the current one, its rollback target, or ' +
        'a running slot)',
    )
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish', seconds)
    .action((env: string, o: { lockWait?: number }) =>
      api().withSession(cli.resolve(env), cli.events(), async (s) => {
        const removed = await api().prune(s, cli.commandLine, { lockWait: o.lockWait });
        if (cli.globals().json) cli.json(removed);
      }),
    );
}

/** Each host's observation, with its sync against the environment and its agent's answer where one is installed. */
async function observeEach(cli: Cli, s: Session) {
  const hosts = await api().eachHost(s.hosts, async (h) => {
    // with Caddy down the slots are still worth showing; which one is live is then unknown
    const [o, agent] = await Promise.all([
      api().observe(s, h, (e) => cli.events().warn(e.message)),
      // no agent to ask where none is installed: no round trip for it
      api().agentWanted(s.on(h).cfg, h) ? api().agentStatus(h) : undefined,
    ]);
    return { ...o, agent };
  });
  const behind = api().lagging(
    s.cfg.environment,
    hosts.map((o) => ({ host: o.host, desired: o.state.desired })),
  );
  return hosts.map((o) => {
    const lag = behind.get(o.host);
    if (!lag) return o;
    // a host with no desired state of its own has no other reason to give
    return { ...o, sync: 'OutOfSync' as const, reasons: o.state.desired ? [lag, ...o.reasons] : [lag] };
  });
}

type HostStatus = Awaited<ReturnType<typeof observeEach>>[number];

/** `status --json`: a row per instance (a slot each, behind the proxy), with the host's whole observation. */
function instanceRows(o: HostStatus) {
  const observed = { desired: o.desired, sync: o.sync, reasons: o.reasons, health: o.health, agent: o.agent };
  return o.instances.map((st) => ({
    host: o.host,
    ...st,
    ...(st.slot ? { live: st.slot === o.live } : {}),
    lock: o.lock,
    ...observed,
    health_reasons: o.healthReasons,
  }));
}

function unreachableRow(u: Session['unreachable'][number]) {
  return { host: u.host, state: 'unreachable', sync: 'Unknown', reasons: [u.reason], health: 'Unknown' };
}

function printStatus(s: Session, hosts: HostStatus[]): void {
  for (const r of hosts.flatMap(instanceRows)) {
    const name = r.slot ? `${r.host} slot ${r.slot}${r.live ? ' (live)' : ''}` : r.host;
    const facts = [
      r.state,
      r.pid && `pid ${r.pid}`,
      r.release && `release ${r.release}`,
      r.restarts !== undefined && `${r.restarts} restart(s)`,
      r.since && `since ${r.since}`,
    ];
    process.stdout.write(`${name}: ${facts.filter(Boolean).join(', ')}\n`);
    if (r.detail) process.stdout.write(`  ${r.detail}\n`);
  }
  for (const o of hosts) {
    const sync = o.sync === 'Synced' ? `Synced to ${o.desired}` : `${o.sync}: ${o.reasons.join('; ')}`;
    process.stdout.write(`${o.host}: ${sync}\n`);
    process.stdout.write(`${o.host}: ${[o.health, ...o.healthReasons].join(': ')}\n`);
    if (o.lock) process.stdout.write(`${o.host}: ${lockLine(o.lock)}\n`);
    if (o.agent) process.stdout.write(`${o.host}: ${api().agentLine(o.agent, s.cfg.app)}\n`);
  }
  for (const u of s.unreachable) process.stdout.write(`${u.host}: unreachable: ${u.reason}\n`);
}
