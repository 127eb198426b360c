// SSH hosts through the OpenSSH client: ~/.ssh/config is honoured (aliases,
// IdentityFile, ProxyJump, agent), host keys are verified by ssh itself, and
// one multiplexed master connection per host carries the whole deploy.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Target } from '../config/load.ts';
import { renderArgv, SlipwayError, tail } from '../errors.ts';
import type { CommandLog, Host, RunOptions, RunResult } from './host.ts';
import { runProcess } from './local.ts';

export interface SshOptions {
  configFile?: string;
  /** folder for control sockets (default: a private folder under the OS temp dir) */
  socketDir?: string;
}

/** Options every ssh invocation gets, as an argument array (pure). */
export function sshOptions(target: Target, opts: { configFile?: string; controlPath: string }): string[] {
  const args: string[] = [];
  if (opts.configFile) args.push('-F', opts.configFile);
  args.push('-o', 'BatchMode=yes', '-o', `ControlPath=${opts.controlPath}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4');
  if (target.port) args.push('-p', String(target.port));
  if (target.user) args.push('-l', target.user);
  return args;
}

/** The full argv that runs `remote` on the host through the master connection (pure). */
export function sshCommand(target: Target, opts: { configFile?: string; controlPath: string }, remote: readonly string[], tty = false): string[] {
  return ['ssh', ...sshOptions(target, opts), '-o', 'ControlMaster=no', ...(tty ? ['-t'] : ['-T']), '--', target.host!, renderArgv(remote)];
}

export class SshHost implements Host {
  readonly name: string;
  loginUser = '';
  private readonly controlPath: string;
  private connected = false;

  constructor(
    readonly target: Target,
    private readonly opts: SshOptions,
    private readonly log: CommandLog,
  ) {
    this.name = target.name;
    const dir = opts.socketDir ?? path.join(os.tmpdir(), `slipway-${os.userInfo().uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // %C is a hash of the connection; the pid keeps concurrent slipway runs apart.
    this.controlPath = path.join(dir, `%C.${process.pid}`);
  }

  private get sshOpts() {
    return { configFile: this.opts.configFile, controlPath: this.controlPath };
  }

  /** Open the master connection; on failure, say precisely why (unknown host key, changed key, auth, unreachable). */
  async connect(): Promise<void> {
    if (this.connected) return;
    const errDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-ssh-'));
    const errFile = path.join(errDir, 'stderr');
    const argv = ['ssh', ...sshOptions(this.target, this.sshOpts), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=300', '-o', 'ConnectTimeout=15', '-f', '-N', '--', this.target.host!];
    this.log(this.name, argv);
    // the login user is what ssh resolves from its config: asked locally while the connection is made
    const resolving = resolveSshConfig(this.target, this.opts.configFile);
    try {
      // The backgrounded master keeps stderr open: send it to a file, not a pipe.
      const r = await execa(argv[0]!, argv.slice(1), { stdin: 'ignore', stdout: 'ignore', stderr: { file: errFile }, reject: false });
      if (r.exitCode !== 0) {
        const stderr = readFileSync(errFile, 'utf8');
        throw await this.diagnose(stderr);
      }
    } finally {
      rmSync(errDir, { recursive: true, force: true });
    }
    this.connected = true;
    this.loginUser = (await resolving).user;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const remote = this.asRoot(argv, opts.sudo);
    try {
      return await runProcess(this.name, remote, sshCommand(this.target, this.sshOpts, remote), opts, this.log);
    } catch (e) {
      // ssh itself failed (exit 255): the connection dropped.
      if ((e as { exitStatus?: number }).exitStatus === 255) {
        throw new SlipwayError('connection', `${this.name}: connection lost while running: ${renderArgv(remote)}`, {
          details: tail((e as { stderr: string }).stderr, 10),
          hint: 'check the network and run the command again; an interrupted deploy leaves the previous release serving',
        });
      }
      throw e;
    }
  }

  async attach(argv: readonly string[], opts: { tty?: boolean; sudo?: boolean } = {}): Promise<number> {
    const remote = this.asRoot(argv, opts.sudo);
    const full = sshCommand(this.target, this.sshOpts, remote, opts.tty);
    this.log(this.name, remote);
    const r = await execa(full[0]!, full.slice(1), { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }

  /** `sudo -n` in front when asked to run as root and not logged in as root. */
  private asRoot(argv: readonly string[], sudo: boolean | undefined): readonly string[] {
    return sudo && this.loginUser !== 'root' ? ['sudo', '-n', '--', ...argv] : argv;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await execa('ssh', [...sshOptions(this.target, this.sshOpts), '-O', 'exit', this.target.host!], { reject: false, stdin: 'ignore' });
  }

  /** Work out why ssh could not connect, from facts rather than ssh's wording. */
  private async diagnose(stderr: string): Promise<SlipwayError> {
    const details = tail(stderr, 10);
    const resolved = await resolveSshConfig(this.target, this.opts.configFile);
    const where = `${this.name} (${resolved.hostname} port ${resolved.port})`;
    const known = await knownKeys(resolved);
    if (known.length === 0) {
      return new SlipwayError('connection', `${where}: host key unknown: ${resolved.hostname} is not in ${resolved.knownHostsFiles.join(' or ')}`, {
        details,
        hint: `verify the server's fingerprint (on the server: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: ssh-keyscan -p ${resolved.port} ${resolved.hostname} >> ${resolved.knownHostsFiles[0]}`,
      });
    }
    if (resolved.proxyJump) {
      return new SlipwayError('connection', `${where}: ssh could not connect (through ProxyJump ${resolved.proxyJump})`, { details, hint: `try: ssh ${this.target.host}` });
    }
    const scan = await execa('ssh-keyscan', ['-T', '5', '-p', String(resolved.port), resolved.hostname], { reject: false });
    const offered = parseKeys(scan.stdout);
    if (offered.length === 0) {
      return new SlipwayError('connection', `${where}: cannot reach the SSH server`, { details, hint: 'check the host name, port and firewall, and that sshd is running' });
    }
    if (!offered.some((k) => known.includes(k))) {
      return new SlipwayError('connection', `${where}: HOST KEY CHANGED: the server's key differs from the one in known_hosts`, {
        details,
        hint: `if the server was reinstalled, verify its new fingerprint, then: ssh-keygen -R '${knownHostsName(resolved)}' and add the new key; otherwise someone may be intercepting the connection`,
      });
    }
    return new SlipwayError('connection', `${where}: authentication failed as ${resolved.user}`, {
      details,
      hint: `check that your key (IdentityFile or ssh-agent) is in ~${resolved.user}/.ssh/authorized_keys on the host; try: ssh ${this.target.host}`,
    });
  }
}

interface ResolvedSsh {
  hostname: string;
  port: number;
  user: string;
  knownHostsFiles: string[];
  hostKeyAlias?: string;
  proxyJump?: string;
}

async function resolveSshConfig(target: Target, configFile?: string): Promise<ResolvedSsh> {
  const args = [...(configFile ? ['-F', configFile] : []), ...(target.port ? ['-p', String(target.port)] : []), ...(target.user ? ['-l', target.user] : []), '-G', target.host!];
  const r = await execa('ssh', args, { reject: false });
  const values = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0 && !values.has(line.slice(0, i))) values.set(line.slice(0, i), line.slice(i + 1));
  }
  const expand = (f: string) => (f.startsWith('~') ? path.join(os.homedir(), f.slice(1)) : f);
  const files = [values.get('userknownhostsfile'), values.get('globalknownhostsfile')]
    .filter((s): s is string => !!s)
    .flatMap((s) => s.split(/\s+/))
    .map(expand);
  const jump = values.get('proxyjump');
  return {
    hostname: values.get('hostname') ?? target.host!,
    port: Number(values.get('port') ?? 22),
    user: values.get('user') ?? os.userInfo().username,
    knownHostsFiles: files.length ? files : [path.join(os.homedir(), '.ssh/known_hosts')],
    hostKeyAlias: values.get('hostkeyalias'),
    proxyJump: jump && jump !== 'none' ? jump : undefined,
  };
}

function knownHostsName(r: ResolvedSsh): string {
  const name = r.hostKeyAlias ?? r.hostname;
  return r.port === 22 ? name : `[${name}]:${r.port}`;
}

/** Keys recorded for the host in its known_hosts files, as "type base64". */
async function knownKeys(r: ResolvedSsh): Promise<string[]> {
  const keys: string[] = [];
  for (const file of r.knownHostsFiles) {
    const found = await execa('ssh-keygen', ['-F', knownHostsName(r), '-f', file], { reject: false });
    if (found.exitCode === 0) keys.push(...parseKeys(found.stdout));
  }
  return keys;
}

/** "type base64" pairs from known_hosts-format lines (host field and comments dropped). */
export function parseKeys(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const fields = line.trim().split(/\s+/);
    const i = fields.findIndex((f) => /^(ssh-|ecdsa-|sk-)/.test(f));
    if (i >= 0 && fields[i + 1]) out.push(`${fields[i]} ${fields[i + 1]}`);
  }
  return out;
}
