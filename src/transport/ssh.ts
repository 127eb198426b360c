// SSH hosts through the OpenSSH client: ~/.ssh/config is honoured (aliases,
// IdentityFile, ProxyJump, agent), host keys are verified by ssh itself, and
// one multiplexed master connection per host carries the whole deploy. The
// master stays open for `ssh.persist` seconds after a command, so the next one
// (a rollback right after a deploy, `status`, `logs`) skips the handshake.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Target } from '../config/load.ts';
import { renderArgv, SlipwayError, tail } from '../errors.ts';
import type { CommandLog, Host, RunOptions, RunResult, Tunnel } from './host.ts';
import { runProcess, untilListening } from './local.ts';

export interface SshOptions {
  configFile?: string;
  /** seconds the master connection outlives the command (0: closed when the command ends) */
  persist: number;
  /** folder for control sockets (default: a private folder under $XDG_RUNTIME_DIR or the OS temp dir) */
  socketDir?: string;
  /** stops running commands (SIGTERM to their ssh) when the run is cancelled */
  signal?: AbortSignal;
}

/** The private folder for control sockets: created 0700, and refused if someone else owns it or can enter it. */
export function socketDir(): string {
  const uid = os.userInfo().uid;
  const dir = process.env.XDG_RUNTIME_DIR
    ? path.join(process.env.XDG_RUNTIME_DIR, 'slipway')
    : path.join(os.tmpdir(), `slipway-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new SlipwayError(
      'connection',
      `${dir}: the SSH control socket folder must be a folder owned by you with mode 0700`,
      { hint: `remove it or fix it (chmod 700 ${dir}); slipway recreates it` },
    );
  }
  return dir;
}

/** Options every ssh invocation gets, as an argument array (pure). */
export function sshOptions(target: Target, opts: { configFile?: string; controlPath: string }): string[] {
  const args: string[] = [];
  if (opts.configFile) args.push('-F', opts.configFile);
  args.push(
    '-o',
    'BatchMode=yes',
    '-o',
    `ControlPath=${opts.controlPath}`,
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
  );
  if (target.port) args.push('-p', String(target.port));
  if (target.user) args.push('-l', target.user);
  return args;
}

/** The full argv that runs `remote` on the host through the master connection (pure). */
export function sshCommand(
  target: Target,
  opts: { configFile?: string; controlPath: string },
  remote: readonly string[],
  tty = false,
): string[] {
  return [
    'ssh',
    ...sshOptions(target, opts),
    '-o',
    'ControlMaster=no',
    ...(tty ? ['-t'] : ['-T']),
    '--',
    target.host!,
    renderArgv(remote),
  ];
}

/** The argv of a tunnel from 127.0.0.1:localPort to a unix socket on the host, a connection of its own (pure). */
export function forwardArgv(
  target: Target,
  opts: { configFile?: string },
  localPort: number,
  remoteSocket: string,
): string[] {
  return [
    'ssh',
    ...sshOptions(target, { ...opts, controlPath: 'none' }),
    '-o',
    'ExitOnForwardFailure=yes',
    '-N',
    '-L',
    `127.0.0.1:${localPort}:${remoteSocket}`,
    '--',
    target.host!,
  ];
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
    // %C is a hash of host, port and user. A persistent master is shared by every slipway run;
    // one that closes with its command is this process's own.
    this.controlPath = path.join(opts.socketDir ?? socketDir(), opts.persist > 0 ? '%C' : `%C.${process.pid}`);
  }

  private get sshOpts() {
    return { configFile: this.opts.configFile, controlPath: this.controlPath };
  }

  /** Open the master connection; on failure, say precisely why (unknown host key, changed key, auth, unreachable). */
  async connect(): Promise<void> {
    if (this.connected) return;
    // the login user is what ssh resolves from its config: asked locally while the connection is made
    const resolving = resolveSshConfig(this.target, this.opts.configFile);
    if (this.opts.persist > 0 && (await this.masterAlive())) {
      this.connected = true;
      this.loginUser = (await resolving).user;
      return;
    }
    const errDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-ssh-'));
    const errFile = path.join(errDir, 'stderr');
    // `auto`: a stale socket left by a master that died is replaced; a master another run opened meanwhile is used
    const persist = this.opts.persist > 0 ? this.opts.persist : 300;
    const argv = [
      'ssh',
      ...sshOptions(this.target, this.sshOpts),
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPersist=${persist}`,
      '-o',
      'ConnectTimeout=15',
      '-f',
      '-N',
      '--',
      this.target.host!,
    ];
    this.log(this.name, argv);
    try {
      // The backgrounded master keeps stderr open: send it to a file, not a pipe.
      const r = await execa(argv[0]!, argv.slice(1), {
        stdin: 'ignore',
        stdout: 'ignore',
        stderr: { file: errFile },
        reject: false,
      });
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
    const remote = opts.sudo ? this.rootArgv(argv) : argv;
    try {
      const full = sshCommand(this.target, this.sshOpts, remote);
      return await runProcess(this.name, remote, full, opts, this.log, this.opts.signal);
    } catch (e) {
      // ssh itself failed (exit 255): the connection dropped.
      if ((e as { exitStatus?: number }).exitStatus === 255) {
        throw new SlipwayError('connection', `${this.name}: connection lost while running: ${renderArgv(remote)}`, {
          details: tail((e as { stderr: string }).stderr, 10),
          hint:
            'check the network and run the command again; an interrupted deploy leaves the previous release ' +
            'serving',
        });
      }
      throw e;
    }
  }

  async attach(argv: readonly string[], opts: { tty?: boolean; sudo?: boolean } = {}): Promise<number> {
    const remote = opts.sudo ? this.rootArgv(argv) : argv;
    const full = sshCommand(this.target, this.sshOpts, remote, opts.tty);
    this.log(this.name, remote);
    const r = await execa(full[0]!, full.slice(1), { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }

  async forward(localPort: number, remoteSocket: string): Promise<Tunnel> {
    const argv = forwardArgv(this.target, { configFile: this.opts.configFile }, localPort, remoteSocket);
    this.log(this.name, argv);
    const child = execa(argv[0]!, argv.slice(1), { stdin: 'ignore', reject: false });
    const ended = child.then(() => undefined);
    try {
      await untilListening(localPort, ended);
    } catch (e) {
      const r = await child;
      throw new SlipwayError('connection', `${this.name}: the tunnel did not open: ${(e as Error).message}`, {
        details: tail(String(r.stderr ?? ''), 10),
      });
    }
    return { ended, close: () => void child.kill() };
  }

  /** `sudo -n` in front unless logged in as root. */
  rootArgv(argv: readonly string[]): readonly string[] {
    return this.loginUser !== 'root' ? ['sudo', '-n', '--', ...argv] : argv;
  }

  /** A master connection from an earlier run is still open (a local check, no network). */
  private async masterAlive(): Promise<boolean> {
    const r = await execa('ssh', [...sshOptions(this.target, this.sshOpts), '-O', 'check', '--', this.target.host!], {
      reject: false,
      stdin: 'ignore',
    });
    return r.exitCode === 0;
  }

  /** A persistent master is left for the next command (it closes itself when idle); otherwise it is closed now. */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    if (this.opts.persist > 0) return;
    await execa('ssh', [...sshOptions(this.target, this.sshOpts), '-O', 'exit', this.target.host!], {
      reject: false,
      stdin: 'ignore',
    });
  }

  /**
   * Work out why ssh could not connect, from facts rather than ssh's wording: whether the name resolves, whether an
   * SSH server answers, and only then whether its key is known (trusting a key is suggested only for a server that
   * answered with a key not in known_hosts).
   */
  private async diagnose(stderr: string): Promise<SlipwayError> {
    const details = tail(stderr, 10);
    const resolved = await resolveSshConfig(this.target, this.opts.configFile);
    const where = `${this.name} (${resolved.hostname} port ${resolved.port})`;
    const known = await knownKeys(resolved);
    if (resolved.proxyJump) return this.diagnoseJump(where, resolved, known.length > 0, stderr, details);
    if (/Could not resolve hostname/i.test(stderr)) {
      return new SlipwayError('connection', `${where}: the name ${resolved.hostname} does not resolve`, {
        details,
        hint: 'check the spelling of the host in slipway.yml (or its HostName in the ssh config) and your DNS',
      });
    }
    const scan = await execa('ssh-keyscan', ['-T', '5', '-p', String(resolved.port), resolved.hostname], {
      reject: false,
    });
    const offered = parseKeys(scan.stdout);
    if (offered.length === 0) {
      return new SlipwayError('connection', `${where}: cannot reach the SSH server`, {
        details,
        hint: 'check the host name, port and firewall, and that sshd is running',
      });
    }
    if (known.length === 0) return unknownKey(where, resolved, details);
    if (!offered.some((k) => known.includes(k))) return changedKey(where, resolved, details);
    return new SlipwayError('connection', `${where}: authentication failed as ${resolved.user}`, {
      details,
      hint:
        `check that your key (IdentityFile or ssh-agent) is in ~${resolved.user}/.ssh/authorized_keys on ` +
        `the host; try: ssh ${this.target.host}`,
    });
  }

  /** Through a ProxyJump the server cannot be scanned from here: ssh's own verdict on the key is all there is. */
  private diagnoseJump(where: string, resolved: ResolvedSsh, known: boolean, stderr: string, details: string) {
    if (!known && /Host key verification failed/.test(stderr)) return unknownKey(where, resolved, details);
    return new SlipwayError('connection', `${where}: ssh could not connect (through ProxyJump ${resolved.proxyJump})`, {
      details,
      hint: `try: ssh ${this.target.host}`,
    });
  }
}

function unknownKey(where: string, resolved: ResolvedSsh, details: string): SlipwayError {
  return new SlipwayError(
    'connection',
    `${where}: host key unknown: ${resolved.hostname} is not in ${resolved.knownHostsFiles.join(' or ')}`,
    {
      details,
      hint:
        `verify the server's fingerprint (on the server: ssh-keygen -lf ` +
        `/etc/ssh/ssh_host_ed25519_key.pub), then add it: ssh-keyscan -p ${resolved.port} ` +
        `${resolved.hostname} >> ${resolved.knownHostsFiles[0]}`,
    },
  );
}

function changedKey(where: string, resolved: ResolvedSsh, details: string): SlipwayError {
  return new SlipwayError(
    'connection',
    `${where}: HOST KEY CHANGED: the server's key differs from the one in known_hosts`,
    {
      details,
      hint:
        `if the server was reinstalled, verify its new fingerprint, then: ssh-keygen -R ` +
        `'${knownHostsName(resolved)}' and add the new key; otherwise someone may be intercepting the connection`,
    },
  );
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
  const args = [
    ...(configFile ? ['-F', configFile] : []),
    ...(target.port ? ['-p', String(target.port)] : []),
    ...(target.user ? ['-l', target.user] : []),
    '-G',
    target.host!,
  ];
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
