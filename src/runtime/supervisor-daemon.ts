// slipway's own supervisor, for hosts without systemd. Bundled into one file
// (dist/supervisor.cjs) that needs only Node >= 18 on the host; `setup`
// installs it as <app>/.slipway/bin/supervisor.cjs.
//
//   node supervisor.cjs restart APPDIR [SLOT]   start the daemon, or restart the app under it
//   node supervisor.cjs stop APPDIR [SLOT]      stop the app (SIGTERM, then SIGKILL) and the daemon
//   node supervisor.cjs status APPDIR [SLOT]    JSON state: pid, release, restarts, backoff
//   node supervisor.cjs stop-later APPDIR SLOT SECONDS   stop the slot later unless restarted or cancelled
//   node supervisor.cjs cancel-stop APPDIR SLOT
//   node supervisor.cjs exec APPDIR CWD [K=V …] -- COMMAND   run COMMAND with the app's env
//
// Without SLOT the app runs from `current` on `port`; with SLOT (a or b,
// behind Caddy) from `slots/<SLOT>` on that slot's port, under its own daemon.
// The daemon runs detached (it outlives the CLI), starts `run` from the app's
// `current` release with the env file and PORT, writes its output to
// .slipway/logs/app.log (rotated at log_max_bytes: app.log.1 … .3, three kept),
// restarts it on crash with exponential backoff (1 s doubling to 30 s, reset
// after 10 s of uptime) and writes its state to .slipway/supervisor/<slot|main>/state.json.
// Started by root with `user` set, it runs the app (and exec) as that user, never as root.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { layout } from '../server/layout.ts';
import { parseEnvFile } from '../server/env-file.ts';
import { execIfSimple } from './exec-form.ts';

interface AppConfig {
  run: string;
  port: number;
  slots?: Record<string, number>;
  stop_timeout: number;
  log_max_bytes?: number;
  /** the service user the app runs as (set when the supervisor runs as root) */
  user?: string;
}

interface Identity {
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/** uid, gid and login variables of the app's user; undefined: run as this process. Throws when the user is missing. */
function identityOf(cfg: AppConfig): Identity | undefined {
  if (!cfg.user || process.getuid?.() !== 0) return undefined;
  let entry: string;
  try {
    entry = execFileSync('getent', ['passwd', cfg.user], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`the service user ${cfg.user} does not exist (run slipway setup)`);
  }
  const [name = cfg.user, , uid = '', gid = '', , home = '/'] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid), env: { USER: name, LOGNAME: name, HOME: home } };
}

/** spawn options that run a child as the app's user */
function asUser(id: Identity | undefined): { uid?: number; gid?: number } {
  return id ? { uid: id.uid, gid: id.gid } : {};
}

interface State {
  daemon_pid: number;
  state: 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';
  generation: number;
  pid?: number;
  release?: string;
  started_at?: string;
  restarts: number;
  last_exit?: string;
  next_start_at?: string;
  backoff_ms?: number;
}

function paths(appDir: string, slot: string | undefined) {
  const l = layout(appDir);
  const dir = path.join(l.supervisor, slot ?? 'main');
  return {
    current: l.instanceLink(slot),
    config: l.appConfig,
    envFile: l.envFile,
    dir,
    state: l.instanceState(slot),
    stopAt: path.join(dir, 'stop-at'),
    log: l.appLog,
  };
}

function portOf(cfg: AppConfig, slot: string | undefined): number {
  return (slot && cfg.slots?.[slot]) || cfg.port;
}

function appEnv(appDir: string, port: number, id: Identity | undefined, extra: Record<string, string> = {}) {
  const p = paths(appDir, undefined);
  let fileEnv: Record<string, string> = {};
  try {
    fileEnv = parseEnvFile(fs.readFileSync(p.envFile, 'utf8'));
  } catch {
    /* no env file yet */
  }
  const base: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'USER', 'LOGNAME', 'TZ']) if (process.env[k]) base[k] = process.env[k];
  return { ...base, ...id?.env, ...fileEnv, PORT: String(port), ...extra };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  if (HAS_PROC) {
    const st = procStat(pid);
    return !!st && st.state !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone */
  }
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

/** State and process group of a process from /proc (Linux), or undefined once it is gone. */
function procStat(pid: string | number): { state: string; pgrp: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid pgrp …; comm may contain spaces, so parse after the last ')'
  const [state = '', , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, pgrp: Number(pgrp) };
}

/** Is any process of the group still running? Zombies (dead, waiting for init to reap them) do not count. */
function groupAlive(pgid: number): boolean {
  if (HAS_PROC) {
    return fs.readdirSync('/proc').some((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      const st = procStat(entry);
      return st?.pgrp === pgid && st.state !== 'Z';
    });
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Appends to a log file; past maxBytes, renames it to .1 (.1 to .2 …, three kept) and starts a new one. */
export class RotatingLog {
  private fd: number | undefined;
  private size = 0;
  constructor(
    private readonly file: string,
    private readonly maxBytes: () => number,
  ) {}

  write(data: Buffer | string): void {
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.file, 'a');
      this.size = fs.fstatSync(this.fd).size;
    }
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    fs.writeSync(this.fd, buf);
    this.size += buf.length;
    if (this.size >= this.maxBytes()) this.rotate();
  }

  private rotate(): void {
    fs.closeSync(this.fd!);
    this.fd = undefined;
    for (let i = 2; i >= 1; i--) {
      try {
        fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    fs.renameSync(this.file, `${this.file}.1`);
  }
}

function daemon(appDir: string, slot: string | undefined): void {
  const p = paths(appDir, slot);
  fs.mkdirSync(p.dir, { recursive: true });
  fs.mkdirSync(path.dirname(p.log), { recursive: true });
  const prev = readJson<State>(p.state);
  const state: State = {
    daemon_pid: process.pid,
    state: 'starting',
    generation: (prev?.generation ?? 0) + 1,
    restarts: 0,
  };
  let child: ChildProcess | undefined;
  let backoffTimer: NodeJS.Timeout | undefined;
  let consecutive = 0;
  let queue = Promise.resolve();

  const save = () => {
    const tmp = `${p.state}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, p.state);
  };
  const log = new RotatingLog(p.log, () => readJson<AppConfig>(p.config)?.log_max_bytes ?? 10 * 1024 * 1024);
  const note = (msg: string) => log.write(`[slipway-supervisor ${new Date().toISOString()}] ${msg}\n`);

  const start = () => {
    backoffTimer = undefined;
    const cfg = readJson<AppConfig>(p.config);
    let cwd: string;
    let id: Identity | undefined;
    try {
      if (!cfg) throw new Error(`${p.config} is missing`);
      cwd = fs.realpathSync(p.current);
      id = identityOf(cfg);
    } catch (e) {
      note(`cannot start: ${(e as Error).message}`);
      return scheduleRestart('not startable');
    }
    const startedAt = Date.now();
    // output goes through the daemon, which rotates the file
    const c = spawn('/bin/sh', ['-c', execIfSimple(cfg.run)], {
      cwd,
      env: appEnv(appDir, portOf(cfg, slot), id),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...asUser(id),
    });
    c.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
    c.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
    child = c;
    Object.assign(state, {
      state: 'running',
      pid: c.pid,
      release: path.basename(cwd),
      started_at: new Date(startedAt).toISOString(),
      next_start_at: undefined,
      backoff_ms: undefined,
    });
    save();
    c.on('exit', (code, signal) => {
      if (child !== c) return; // stopped on purpose
      child = undefined;
      signalGroup(c.pid!, 'SIGKILL'); // whatever the crashed app left behind
      state.restarts += 1;
      state.last_exit = signal ? `killed by ${signal}` : `exit code ${code}`;
      consecutive = Date.now() - startedAt < 10_000 ? consecutive + 1 : 1;
      note(`app ${state.last_exit}`);
      scheduleRestart(state.last_exit);
    });
  };

  const scheduleRestart = (why: string) => {
    const delay = Math.min(1000 * 2 ** Math.max(0, consecutive - 1), 30_000);
    Object.assign(state, {
      state: 'backoff',
      pid: undefined,
      backoff_ms: delay,
      next_start_at: new Date(Date.now() + delay).toISOString(),
    });
    save();
    note(`${why}; restarting in ${delay / 1000}s`);
    backoffTimer = setTimeout(start, delay);
  };

  // The app runs in its own process group (sh and everything it started):
  // stopping means the whole group is gone, not just the first process.
  const stopChild = async () => {
    if (backoffTimer) clearTimeout(backoffTimer);
    backoffTimer = undefined;
    const c = child;
    child = undefined;
    if (!c?.pid) return;
    const cfg = readJson<AppConfig>(p.config);
    state.state = 'stopping';
    save();
    signalGroup(c.pid, 'SIGTERM');
    const timeout = (cfg?.stop_timeout ?? 10) * 1000;
    if (!(await waitFor(() => !groupAlive(c.pid!), timeout))) {
      note(`app did not stop within ${timeout / 1000}s of SIGTERM: SIGKILL`);
      signalGroup(c.pid, 'SIGKILL');
      await waitFor(() => !groupAlive(c.pid!), 5000);
    }
  };

  // The last request wins: a restart that arrives while a stop (say, the old
  // slot's drain timer) is still waiting for the app to exit keeps the daemon.
  let exiting = false;
  process.on('SIGHUP', () => {
    exiting = false;
    queue = queue.then(async () => {
      await stopChild();
      state.generation += 1;
      consecutive = 0;
      start();
    });
  });
  const shutdown = () => {
    exiting = true;
    queue = queue.then(async () => {
      await stopChild();
      if (!exiting) return;
      Object.assign(state, { state: 'stopped', pid: undefined });
      save();
      process.exit(0);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  start();
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

async function restart(appDir: string, slot: string | undefined): Promise<void> {
  const p = paths(appDir, slot);
  fs.rmSync(p.stopAt, { force: true });
  const before = readJson<State>(p.state);
  const cfg = readJson<AppConfig>(p.config);
  const wait = ((cfg?.stop_timeout ?? 10) + 10) * 1000;
  const settled = (s: State | undefined) => !!s && (s.state === 'running' || s.state === 'backoff');
  if (before && before.state !== 'stopped' && alive(before.daemon_pid)) {
    process.kill(before.daemon_pid, 'SIGHUP');
    const ok = await waitFor(() => {
      const s = readJson<State>(p.state);
      return !!s && s.generation > before.generation && settled(s);
    }, wait);
    if (!ok) throw new Error('the app did not restart in time');
    return;
  }
  fs.mkdirSync(p.dir, { recursive: true });
  const d = spawn(process.execPath, [__filename, 'daemon', appDir, slot ?? '-'], { detached: true, stdio: 'ignore' });
  d.unref();
  const ok = await waitFor(() => {
    const s = readJson<State>(p.state);
    return !!s && s.daemon_pid === d.pid && settled(s);
  }, wait);
  if (!ok) throw new Error('the supervisor did not start');
}

async function stop(appDir: string, slot: string | undefined): Promise<void> {
  const p = paths(appDir, slot);
  fs.rmSync(p.stopAt, { force: true });
  const s = readJson<State>(p.state);
  if (!s || !alive(s.daemon_pid)) return;
  process.kill(s.daemon_pid, 'SIGTERM');
  const cfg = readJson<AppConfig>(p.config);
  if (!(await waitFor(() => !alive(s.daemon_pid), ((cfg?.stop_timeout ?? 10) + 5) * 1000)))
    throw new Error('the supervisor did not stop');
}

/** Stop the slot after `seconds` unless a restart or cancel-stop removes the token first. */
function stopLater(appDir: string, slot: string, seconds: number): void {
  const p = paths(appDir, slot);
  fs.mkdirSync(p.dir, { recursive: true });
  const token = `${process.pid}-${Date.now()}`;
  fs.writeFileSync(p.stopAt, token);
  spawn(process.execPath, [__filename, 'stop-if', appDir, slot, token, String(seconds)], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

async function stopIf(appDir: string, slot: string, token: string, seconds: number): Promise<void> {
  await sleep(seconds * 1000);
  const p = paths(appDir, slot);
  let current = '';
  try {
    current = fs.readFileSync(p.stopAt, 'utf8');
  } catch {
    return; // cancelled
  }
  if (current === token) await stop(appDir, slot);
}

function status(appDir: string, slot: string | undefined): void {
  const s = readJson<State>(paths(appDir, slot).state);
  const running = !!s && alive(s.daemon_pid);
  process.stdout.write(`${JSON.stringify(running ? s : { ...s, state: 'stopped', pid: undefined })}\n`);
}

function exec(appDir: string, cwd: string, rest: string[]): void {
  const sep = rest.indexOf('--');
  const extra = Object.fromEntries(
    rest.slice(0, sep).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const cfg = readJson<AppConfig>(paths(appDir, undefined).config) ?? { run: '', port: 3000, stop_timeout: 10 };
  let id: Identity | undefined;
  try {
    id = identityOf(cfg);
  } catch (e) {
    process.stderr.write(`slipway-supervisor: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const c = spawn('/bin/sh', ['-c', rest[sep + 1] ?? 'true'], {
    cwd,
    env: appEnv(appDir, cfg.port, id, extra),
    stdio: 'inherit',
    ...asUser(id),
  });
  c.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, appDir, ...rest] = argv;
  if (!cmd || !appDir) {
    process.stderr.write('usage: supervisor.cjs restart|stop|status|exec APPDIR\n');
    process.exit(2);
  }
  const dir = path.resolve(appDir);
  const slot = rest[0] && rest[0] !== '-' && cmd !== 'exec' ? rest[0] : undefined;
  if (slot !== undefined && !/^[ab]$/.test(slot)) throw new Error(`unknown slot ${slot}`);
  switch (cmd) {
    case 'daemon':
      return daemon(dir, slot);
    case 'restart':
      return restart(dir, slot);
    case 'stop':
      return stop(dir, slot);
    case 'status':
      return status(dir, slot);
    case 'stop-later':
      return stopLater(dir, slot!, Number(rest[1]));
    case 'stop-if':
      return stopIf(dir, slot!, rest[1]!, Number(rest[2]));
    case 'cancel-stop':
      fs.rmSync(paths(dir, slot).stopAt, { force: true });
      return;
    case 'exec':
      return exec(dir, rest[0]!, rest.slice(1));
    default:
      process.stderr.write(`unknown command ${cmd}\n`);
      process.exit(2);
  }
}
