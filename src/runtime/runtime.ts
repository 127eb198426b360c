// One interface for every way an app runs on a host. Without a proxy there is
// one instance, started from `current`; behind Caddy there are two slots (a and
// b, on ports `port` and `port + 1`), each started from its link `slots/<slot>`.
import type { ResolvedConfig } from '../config/load.ts';
import { SLOTS, type Slot } from './slots.ts';
import type { Host } from '../transport/host.ts';
import type { FileSite } from '../proxy/caddy-config.ts';

/** The instances a command addresses: the single one, or every slot (or just `slot`) behind the proxy. */
export function instances(cfg: Pick<ResolvedConfig, 'proxy'>, slot?: Slot): (Slot | undefined)[] {
  return cfg.proxy ? (slot ? [slot] : [...SLOTS]) : [undefined];
}

export interface RuntimeStatus {
  slot?: Slot;
  state: string;
  running: boolean;
  pid?: number;
  since?: string;
  release?: string;
  restarts?: number;
  detail?: string;
}

export interface ExecOptions {
  cwd: string;
  env?: Record<string, string>;
  tty?: boolean;
  /** $PORT: the port of the instance that serves (behind the proxy, the live slot's); default `port` */
  port?: number;
}

/** A release that runs from an image: how the image gets onto the hosts (no registry needed). */
/** Where a change to how an app runs shows up on its host. */
export interface Watched {
  /** systemd units: a change of their state (stopped, crashed, restarted) */
  units: string[];
  /** files: written, replaced or removed (their folder is watched) */
  files: string[];
  /** a command printing a line for every change (docker events) */
  events?: string[];
}

export interface ImageShipping {
  /** the image built here is pushed to a registry the hosts pull from (a cluster): nothing is shipped to them */
  readonly pushed?: boolean;
  /** the image is built on this machine and shipped: the name it is built under; undefined: each host builds it */
  builtHere(cfg: ResolvedConfig, release: string): string | undefined;
  /** build the release's image here, ready to ship to any number of hosts */
  buildHere(cfg: ResolvedConfig, release: string, srcDir: string, onLine?: (l: string) => void): Promise<ShipImage>;
  /** what buildOnHost does, as its step says it */
  hostStep(cfg: ResolvedConfig): string;
  buildOnHost(
    host: Host,
    cfg: ResolvedConfig,
    release: string,
    releaseDir: string,
    onLine?: (l: string) => void,
  ): Promise<void>;
  /** what the host lacks of a built image (asked of every host before anything is exported) */
  lacks(host: Host, image: ShipImage): Promise<ImageLack>;
  /** make the built image ready to send (once, when a host lacks it); the bytes exported */
  export(image: ShipImage): Promise<{ bytes: number }>;
  /** send what the host lacks of a built image; how many layers were sent and skipped, and the bytes */
  ship(host: Host, image: ShipImage, lacks: ImageLack): Promise<{ sent: number; skipped: number; bytes: number }>;
}

/** `image`: the host lacks the image itself (it has to be exported and loaded); `layers`: the ones to send */
export interface ImageLack {
  image: boolean;
  layers: number[];
}

export interface ShipImage {
  cleanup(): void;
}

/** What an engine that rolls releases out by itself (Swarm) is doing on one host. */
export interface RolloutView {
  /** the app's service exists */
  service: boolean;
  /** the state of its last update (updating, completed, rollback_started, rollback_completed, paused…) */
  update?: string;
  message?: string;
  /** the release its spec runs now, and how many tasks */
  spec?: string;
  replicas: number;
  /** the tasks of this host that should run, with the address Caddy reaches them at */
  tasks: { state: string; release: string; dial?: string }[];
}

/** A runtime whose engine rolls a release out itself: slipway asks for it, then follows it (src/runtime/strategies). */
export interface Rollout {
  /**
   * true: Caddy routes to the tasks (slipway adds them as they pass and checks the release through Caddy); false: the
   * engine routes traffic itself (an Ingress), and its readiness probes are the health check
   */
  readonly viaCaddy: boolean;
  /** ask the engine to run release `id` (create or update the service); `restart`: start its instances anew */
  start(host: Host, cfg: ResolvedConfig, id: string, restart?: boolean): Promise<void>;
  look(host: Host, cfg: ResolvedConfig): Promise<RolloutView>;
}

export interface Runtime {
  /** the engine rolls releases out itself: slipway starts and follows the rollout instead of switching slots */
  readonly rollout?: Rollout;
  /**
   * what makes the release unfit to go live, found before it does (a site without the page its health check asks
   * for); undefined: nothing
   */
  preflight?(host: Host, cfg: ResolvedConfig, releaseDir: string): Promise<string | undefined>;
  /** behind the proxy: the site of files Caddy serves, instead of proxying to the app's port */
  filesServed?(cfg: ResolvedConfig): FileSite;
  /** why the runtime cannot run on the local target (refused when the config is loaded) */
  readonly notLocal?: string;
  /** why the runtime needs a proxy section, when it does (refused when the config is loaded) */
  readonly needsProxy?: string;
  /** releases run from an image, which must be on the host before they start */
  readonly image?: ImageShipping;
  /** the programs this runtime needs on a host, each with the Debian package that has it */
  readonly packages: Record<string, string>;
  /** more programs, for what this config asks of the runtime (docker compose for accessories) */
  packagesFor?(cfg: ResolvedConfig): Record<string, string>;
  /**
   * what is wrong with the runtime's own settings beyond their schema (a compose file), checked at load; `at` gives a
   * key's `file:line:col`
   */
  configProblem?(cfg: ResolvedConfig, dir: string, at: (key: string[]) => string): string | undefined;
  /** services the app needs beside it, started before a release goes live and left running */
  accessories?(cfg: ResolvedConfig): string[];
  /** start the accessories of the release (or leave them running when unchanged) */
  startAccessories?(
    host: Host,
    cfg: ResolvedConfig,
    releaseDir: string,
    accessories: string[],
    onLine?: (l: string) => void,
  ): Promise<void>;
  /** the app is a process (not files only): it restarts, has slots behind the proxy, is checked on its port */
  readonly hasProcess: boolean;
  /** `run` is a command started on the host (not inside a container) */
  readonly runsOnHost: boolean;
  /** setup's step that installs what runs the app: its title and what it says when it changed something */
  readonly provision?: { title: string; changed: string };
  /** write the app's variables where the runtime reads them, besides the env file every runtime gets */
  writeEnv?(host: Host, cfg: ResolvedConfig, vars: Record<string, string>): Promise<void>;
  /** remove what the runtime keeps per release (images) for releases being pruned */
  pruneReleases?(host: Host, cfg: ResolvedConfig, ids: string[]): Promise<void>;
  /**
   * the user the app runs as on this host, owner of its shared folders and env file; undefined: the login user
   * (when the runtime cannot switch users)
   */
  appUser(cfg: ResolvedConfig, host: Host): string | undefined;
  /** install or update what runs the app (unit files, supervisor); true when something changed */
  configure(host: Host, cfg: ResolvedConfig): Promise<boolean>;
  /** put back what the last configure replaced (a failed deploy's previous release must run as it did) */
  revertConfigure(host: Host, cfg: ResolvedConfig): Promise<void>;
  /** for `plan`: what configure would change on the host, changing nothing */
  describeConfigure?(host: Host, cfg: ResolvedConfig): Promise<string>;
  /** for `observe`: how the runtime config on the host differs from what configure writes; undefined: it does not */
  configDrift?(host: Host, cfg: ResolvedConfig): Promise<string | undefined>;
  /** (re)start the app, or one slot; cancels a pending stopLater of that slot */
  restart(host: Host, cfg: ResolvedConfig, slot?: Slot): Promise<void>;
  /**
   * where restarting the single instance is one command: it, so it can be chained with the switch and the health check
   */
  restartArgv?(cfg: ResolvedConfig): { argv: string[]; sudo: boolean };
  /** stop the app (every slot), or one slot */
  stop(host: Host, cfg: ResolvedConfig, slot?: Slot): Promise<void>;
  /** stop a slot after `seconds` (draining), unless restarted or cancelled meanwhile */
  stopLater(host: Host, cfg: ResolvedConfig, slot: Slot, seconds: number): Promise<void>;
  cancelStop(host: Host, cfg: ResolvedConfig, slot: Slot): Promise<void>;
  /** argv that succeeds, printing why, once the process manager has given up restarting the app (or a slot) */
  gaveUpArgv?(cfg: ResolvedConfig, slot?: Slot): string[];
  /** what the agent watches to see this app's drift at once (the app's folder and Caddy it watches for every app) */
  watch(cfg: ResolvedConfig): Watched;
  /** one entry, or one per slot */
  status(host: Host, cfg: ResolvedConfig): Promise<RuntimeStatus[]>;
  /** argv printing (or following) the app's log, and whether it needs root */
  logsArgv(
    cfg: ResolvedConfig,
    opts: { lines: number; follow: boolean; since?: string },
  ): { argv: string[]; sudo: boolean };
  /**
   * argv running a shell command as the app would run: its user, env file, sandbox and PORT (`port`: the live slot's),
   * in `cwd`
   */
  execArgv(cfg: ResolvedConfig, command: string, opts: ExecOptions): { argv: string[]; sudo: boolean };
}
