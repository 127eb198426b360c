// `slipway dashboard ENV`: the host agent's dashboard in a browser here, through an SSH tunnel to the agent's web
// socket (nothing on the host listens on a network for it), logged in with a one-time link; `--invite`: a link for
// someone else, to the dashboard Caddy publishes on `dashboard.domain`.
import { InvalidArgumentError } from 'commander';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import type { Host } from '../transport/host.ts';
import { whoProblem } from '../web/auth.ts';
import type { PeerView } from '../web/board.ts';
import { api } from './api.ts';
import type { Cli } from './cli.ts';

interface DashboardOptions {
  host?: string;
  port?: number;
  open: boolean;
  invite: boolean;
  readOnly: boolean;
  as?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port, 1 to 65535');
  return n;
}

function loginName(value: string): string {
  const problem = whoProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

export function registerDashboardCommand(cli: Cli): void {
  cli.program
    .command('dashboard <env>')
    .description("open the host agent's dashboard here, through an SSH tunnel (Ctrl-C closes it)")
    .option('--host <name>', 'the host whose agent serves it (default: the environment’s first)')
    .option('--port <port>', 'the local port of the tunnel (default: any free one)', port)
    .option('--no-open', 'print the link instead of opening a browser')
    .option('--invite', 'print a one-time login link (valid 24 h) to the dashboard on dashboard.domain', false)
    .option('--read-only', 'the login may look but not act', false)
    .option('--as <name>', 'the name the login is recorded under (default: you@this machine)', loginName)
    .action((env: string, o: DashboardOptions) => dashboard(cli, env, o));
}

async function dashboard(cli: Cli, env: string, o: DashboardOptions): Promise<void> {
  const cfg = cli.resolve(env);
  const target = o.host ? cfg.targets.find((t) => t.name === o.host) : cfg.targets[0];
  if (!target)
    throw new SlipwayError('config', `${env} has no host ${o.host}`, {
      hint: `one of: ${cfg.targets.map((t) => t.name).join(', ')}`,
    });
  if (o.invite && !cfg.dashboard?.domain)
    throw new SlipwayError('config', `${env}: an invite is for the dashboard on dashboard.domain, which is not set`, {
      hint:
        'set `dashboard: { domain: deploy.example.com }` in slipway.yml and deploy, or open it here: ' +
        `slipway dashboard ${env}`,
    });
  const one = { ...cfg, targets: [target] };
  await api().withSession(
    one,
    cli.events(),
    async (s) => {
      const h = s.hosts[0]!;
      const link = await loginLink(h, o, !!o.invite);
      if (o.invite) {
        const url = `${dashboardSite(cfg)}/login?token=${link.token}`;
        if (cli.globals().json) return cli.json({ url, expires_in: link.expires_in });
        process.stdout.write(`${url}\n(one use, valid for ${Math.round(link.expires_in / 3600)} h)\n`);
        return;
      }
      const others = cfg.targets.filter((t) => t !== target);
      await tunnel(cli, h, o, link.token, (ended) => relayOthers(cli, { ...cfg, targets: others }, h, ended));
    },
    { connectStep: false },
  );
}

/** how often the other hosts' boards are read and relayed while the tunnel is open */
const RELAY_EVERY_MS = 3000;

/**
 * The grid across hosts: while the tunnel is open, every other host's board (as its own agent observed it) is read
 * over SSH and relayed to the agent that serves the page, since hosts hold no connections to each other.
 */
async function relayOthers(cli: Cli, others: ResolvedConfig, to: Host, ended: Promise<unknown>): Promise<void> {
  if (!others.targets.length) return;
  let open = true;
  void ended.finally(() => {
    open = false;
  });
  const pause = () => Promise.race([ended, new Promise((r) => setTimeout(r, RELAY_EVERY_MS))]);
  const relay = (peers: PeerView[]) => api().agentRelay(to, peers);
  const unreachable = (lost: { host: string; reason: string }[]) =>
    lost.map((u) => ({ host: u.host, seenAt: new Date().toISOString(), error: u.reason.slice(0, 400) }));
  try {
    await api().withSession(
      others,
      cli.events(),
      async (s) => {
        while (open) {
          const boards = await Promise.all(s.hosts.map((h) => boardOf(h)));
          await relay([...boards, ...unreachable(s.unreachable)]);
          await pause();
        }
      },
      { connectStep: false, allowUnreachable: true },
    );
  } catch (e) {
    if (!open) return; // the tunnel closed (Ctrl-C) while a relay ran
    // none of them could be reached: the grid says so, and the page of this host works as ever
    const why = e instanceof SlipwayError ? e.message : String(e);
    await relay(unreachable(others.targets.map((t) => ({ host: t.name, reason: why })))).catch(() => false);
    cli.events().warn(`the grid shows ${to.name} only: ${why}`);
  }
}

async function boardOf(h: Host): Promise<PeerView> {
  const seenAt = new Date().toISOString();
  const apps = await api()
    .agentBoard(h)
    .catch(() => undefined);
  return apps ? { host: h.name, seenAt, apps: apps as PeerView['apps'] } : { host: h.name, seenAt, error: 'no agent' };
}

/** Where Caddy publishes the dashboard: HTTPS with the app's domain, else its plain-HTTP port (pure). */
export function dashboardSite(cfg: ResolvedConfig): string {
  const name = cfg.dashboard!.domain;
  if (cfg.proxy?.domain) return `https://${name}`;
  const port = cfg.proxy?.port ?? 80;
  return `http://${name}${port === 80 ? '' : `:${port}`}`;
}

async function loginLink(h: Host, o: DashboardOptions, invite: boolean) {
  const who = o.as ?? api().whoami();
  const link = await api().agentLoginLink(h, { who, role: o.readOnly ? 'read-only' : 'admin', invite });
  if (!link)
    throw new SlipwayError('connection', `${h.name}: the slipway agent did not answer`, {
      hint: 'the dashboard is served by the agent: slipway setup installs it (slipway status shows it)',
    });
  return link;
}

async function tunnel(
  cli: Cli,
  h: Host,
  o: DashboardOptions,
  token: string,
  meanwhile: (ended: Promise<unknown>) => Promise<void>,
): Promise<void> {
  if (!h.forward)
    throw new SlipwayError('config', `${h.name}: the local target has no agent, so no dashboard`, {
      hint: 'the dashboard is served by the agent of a server (or of this machine as the `self` target)',
    });
  const local = await api().freePort(o.port ?? 0);
  const t = await h.forward(local, api().AGENT.webSocket);
  const url = `http://127.0.0.1:${local}/login?token=${token}`;
  if (cli.globals().json) cli.json({ url });
  else process.stdout.write(`Dashboard of ${h.name}: ${url}\n(one-time link; Ctrl-C closes the tunnel)\n`);
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  if (o.open)
    void import('execa').then(({ execa }) => execa(opener, [url], { reject: false, stdio: 'ignore', detached: true }));
  const stop = () => t.close();
  cli.events().signal?.addEventListener('abort', stop, { once: true });
  await Promise.all([t.ended, meanwhile(t.ended)]);
}
