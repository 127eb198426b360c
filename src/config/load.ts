// Loading slipway.yml: parse, validate against the schema with exact
// file:line:column positions, and merge an environment's overrides.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import os from 'node:os';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { SlipwayError } from '../errors.ts';
import { type RUNTIME_KINDS, runtimeFor } from '../runtime/index.ts';
import { closest } from '../text.ts';
import { ConfigFile, Settings, systemFolderProblem, type ConfigFileT, type SettingsT } from './schema.ts';

export const CONFIG_FILE = 'slipway.yml';

export interface Target {
  /** display name: `local`, `self` or the host entry as written */
  name: string;
  /** local: a sandbox folder on this machine; self: this machine as a real server; ssh: a server over SSH */
  kind: 'local' | 'self' | 'ssh';
  /** for ssh: the destination given to ssh (alias or host), user and port if set */
  host?: string;
  user?: string;
  port?: number;
  /** the role the host runs (`web` unless the environment names roles) */
  role: string;
}

export interface ResolvedConfig extends Omit<SettingsT, 'run' | 'runtime' | 'user'> {
  app: string;
  env: SettingsT['env'];
  environment: string;
  /** empty for runtime: static */
  run: string;
  runtime: (typeof RUNTIME_KINDS)[number];
  user: string;
  /** `user` was written in slipway.yml (not the default, the app name) */
  userGiven: boolean;
  targets: Target[];
  /** absolute folder of slipway.yml: the app's source folder */
  dir: string;
  file: string;
  /** `<root>/<app>` on every host */
  appDir: string;
  /** each role's settings (the environment's, with the role's overrides), by role name */
  roles: Record<string, ResolvedConfig>;
  /** the environment this one is promoted from */
  after?: string;
}

export interface LoadedConfig {
  file: string;
  dir: string;
  data: ConfigFileT;
  raw: Record<string, unknown>;
  /** `file:line:col` of the deepest node that exists on a key path */
  at(keyPath: readonly (string | number)[]): string;
}

/** Bigger than any real slipway.yml by far, small enough to refuse a hostile one at once. */
export const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * The config file: `file` as given, or, for the default name, the nearest one in this folder or above (as git and npm
 * look).
 */
export function findConfig(file = CONFIG_FILE, from = process.cwd()): string {
  if (file !== CONFIG_FILE || existsSync(file)) return file;
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return path.relative(process.cwd(), candidate) || CONFIG_FILE;
    if (path.dirname(dir) === dir) return file;
  }
}

export function loadConfig(given = CONFIG_FILE): LoadedConfig {
  const file = findConfig(given);
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory())
      throw new SlipwayError(
        'config',
        `${file}: is a folder → pass the config file itself, e.g. --config ${path.join(file, CONFIG_FILE)}`,
      );
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof SlipwayError) throw e;
    throw new SlipwayError('config', `${file}: not found`, {
      hint: 'run `slipway init` to write one, or pass --config FILE',
    });
  }
  return parseConfig(decodeConfig(bytes, file), file);
}

/** The file's text, refusing what is not a config: too big, or not UTF-8 (never silently replaced). */
export function decodeConfig(bytes: Uint8Array, file: string): string {
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new SlipwayError(
      'config',
      `${file}:1:1: the file is ${bytes.length} bytes; a slipway.yml is at most ${MAX_CONFIG_BYTES} → is this ` +
        `the right file?`,
    );
  }
  const strict = new TextDecoder('utf-8', { fatal: true });
  try {
    return strict.decode(bytes);
  } catch {
    const lines = Buffer.from(bytes).toString('latin1').split('\n');
    let line = 0;
    while (line < lines.length - 1 && isUtf8(Buffer.from(lines[line]!, 'latin1'))) line++;
    const bad = Buffer.from(lines[line]!, 'latin1');
    let col = 0;
    while (col < bad.length && isUtf8(bad.subarray(0, col + 1))) col++;
    // the longest valid prefix may end inside a character: count whole characters before the bad byte
    const chars = [...new TextDecoder().decode(bad.subarray(0, col))].length;
    throw new SlipwayError(
      'config',
      `${file}:${line + 1}:${chars + 1}: the file is not UTF-8 text (byte ` +
        `0x${bad[col]?.toString(16).padStart(2, '0')}) → save it as UTF-8`,
    );
  }
}

export function parseConfig(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const offsetAt = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  const at = (keyPath: readonly (string | number)[]) => offsetAt(nodeOffset(keyNode(doc, keyPath.map(String))));
  const yamlError = doc.errors[0];
  if (yamlError) {
    throw new SlipwayError(
      'config',
      `${offsetAt(yamlError.pos[0])}: invalid YAML: ${yamlError.message.split('\n')[0]} → check the indentation ` +
        `and quoting on that line`,
    );
  }
  envValuesAsWritten(doc);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    // yaml refuses an alias bomb while resolving (maxAliasCount)
    throw new SlipwayError(
      'config',
      `${file}:1:1: invalid YAML: ${(e as Error).message} → write the values out instead of repeating aliases`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SlipwayError(
      'config',
      `${file}:1:1: expected a mapping of settings (app:, run:, environments: …) → see \`slipway init\``,
    );
  }
  const result = ConfigFile.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) => describeIssue(issue, doc, offsetAt));
    throw new SlipwayError('config', lines.join('\n'), {
      hint: "see `slipway config --schema` or the README's configuration reference",
    });
  }
  return { file, dir: path.dirname(path.resolve(file)), data: result.data, raw: raw as Record<string, unknown>, at };
}

/**
 * An env value is text: YAML would read `VERSION: 1.10` as 1.1 and `ZIP: 01234` as 1234, so a
 * number or boolean under any `env:` becomes the text exactly as written.
 */
function envValuesAsWritten(doc: Document): void {
  const envMaps: unknown[] = [doc.getIn(['env'], true)];
  const envs = doc.getIn(['environments'], true);
  if (isMap(envs)) {
    for (const pair of envs.items) {
      if (!isMap(pair.value)) continue;
      envMaps.push(pair.value.get('env', true));
      const roles = pair.value.get('roles', true);
      if (isMap(roles))
        for (const role of roles.items) if (isMap(role.value)) envMaps.push(role.value.get('env', true));
    }
  }
  for (const map of envMaps) {
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      const v = pair.value;
      if (
        isScalar(v) &&
        v.type === 'PLAIN' &&
        (typeof v.value === 'number' || typeof v.value === 'boolean') &&
        typeof v.source === 'string'
      )
        v.value = v.source;
    }
  }
}

function deepestNode(doc: Document, keyPath: string[]): unknown {
  let node: unknown;
  for (let i = keyPath.length; i >= 0 && node === undefined; i--) node = doc.getIn(keyPath.slice(0, i), true);
  return node;
}

/** Hints for zod's own messages, which say what is wrong but not what to write. */
function withHint(message: string, expected?: string): string {
  if (message.includes('→')) return message;
  if (expected === 'number') return `${message} → write a number without quotes`;
  if (expected === 'string') return `${message} → write text (quote it if YAML reads it as something else)`;
  if (expected === 'array') return `${message} → write a list, e.g. [a, b]`;
  if (expected === 'object') return `${message} → write a mapping of keys`;
  return `${message} → see the README's configuration reference`;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, at: (offset: number) => string): string[] {
  const keyPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const offset = nodeOffset(keyNode(doc, [...keyPath, key]));
      const known = knownKeys(keyPath);
      const guess = closest(key, known);
      const hint = guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`;
      return `${at(offset)}: ${[...keyPath, key].join('.')}: unknown key → ${hint}`;
    });
  }
  const where = at(nodeOffset(issue.code === 'invalid_key' ? keyNode(doc, keyPath) : deepestNode(doc, keyPath)));
  const name = keyPath.length ? keyPath.join('.') : '(top level)';
  let message = issue.message;
  if (issue.code === 'invalid_key')
    message = `the name ${JSON.stringify(keyPath.at(-1))} ${issue.issues[0]?.message ?? 'is not allowed'}`;
  if (issue.code === 'invalid_type') {
    const value = doc.getIn(keyPath);
    message =
      value === undefined
        ? `required (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${describeValue(value)}`;
  }
  if (issue.code === 'invalid_union')
    message = `expected text, a number or true/false, got ${describeValue(doc.getIn(keyPath, true))}`;
  return [`${where}: ${name}: ${withHint(message, issue.code === 'invalid_type' ? issue.expected : undefined)}`];
}

/** The key node of the last path element (an invalid record key points at the key, not its value). */
function keyNode(doc: Document, keyPath: string[]): unknown {
  const parent = doc.getIn(keyPath.slice(0, -1), true);
  if (!isMap(parent)) return deepestNode(doc, keyPath);
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === keyPath.at(-1));
  return pair?.key ?? deepestNode(doc, keyPath);
}

function nodeOffset(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? range[0] : 0;
}

function describeValue(v: unknown): string {
  if (isSeq(v)) return 'a list';
  if (isMap(v)) return 'a mapping';
  if (isScalar(v)) return describeValue(v.value);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Keys the schema allows at a path (for "did you mean"). */
function knownKeys(keyPath: string[]): string[] {
  let schema: unknown = ConfigFile;
  for (const key of keyPath) {
    schema = unwrap(schema);
    const def = (schema as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; valueType?: unknown } } })
      ._zod?.def;
    if (def?.type === 'record') schema = def.valueType;
    else if (def?.shape) schema = def.shape[key];
    else return [];
  }
  const def = (unwrap(schema) as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def;
  return def?.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } };
  while (s?._zod?.def && ['optional', 'default', 'nullable', 'pipe', 'prefault'].includes(s._zod.def.type ?? '')) {
    s = (s._zod.def.innerType ?? s._zod.def.in) as typeof s;
  }
  return s;
}

/** Objects merge key by key; lists and scalars from the override replace. */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The settings for one environment: top level merged with the environment's overrides, defaults applied. */
/** `onHost`: the config is read on a host (a git push): the laptop's ssh config file is not there, nor needed. */
export function resolveEnvironment(
  loaded: LoadedConfig,
  environment: string,
  opts: { onHost?: boolean } = {},
): ResolvedConfig {
  const { raw, data, file, dir, at } = loaded;
  const envNames = Object.keys(data.environments);
  const envRaw = (raw.environments as Record<string, Record<string, unknown>>)[environment];
  if (!envRaw) {
    const guess = closest(environment, envNames);
    throw new SlipwayError(
      'config',
      `${at(['environments'])}: environments: no environment ${JSON.stringify(environment)} → ` +
        `${guess ? `did you mean "${guess}"? ` : ''}environments defined: ${envNames.join(', ')}`,
    );
  }
  const { app: _app, environments: _envs, ...top } = raw;
  const { hosts, roles, after, ...overrides } = envRaw as {
    hosts?: string[];
    after?: string;
    roles?: Record<string, { hosts: string[] } & Record<string, unknown>>;
  } & Record<string, unknown>;
  const envSettings = deepMerge(top, overrides);
  const settings = Settings.parse(envSettings);
  const envPath = ['environments', environment];
  const where = `${at(envPath)}: environments.${environment}`;
  if (after !== undefined) {
    if (!envNames.includes(after) || after === environment) {
      throw new SlipwayError(
        'config',
        `${at([...envPath, 'after'])}: environments.${environment}.after: "${after}" is not another environment ` +
          `→ environments defined: ${envNames.join(', ')}`,
      );
    }
    const order = [environment];
    for (let e: string | undefined = after; e; e = (raw.environments as Record<string, { after?: string }>)[e]?.after) {
      if (order.includes(e))
        throw new SlipwayError(
          'config',
          `${at([...envPath, 'after'])}: environments.${environment}.after: the order loops ` +
            `(${[...order, e].join(' > ')}) → remove one \`after\``,
        );
      order.push(e);
    }
  }
  const roleList: [string, string[], Record<string, unknown>][] = [];
  if (hosts) roleList.push(['web', hosts, {}]);
  for (const [role, { hosts: roleHosts, ...roleOverrides }] of Object.entries(roles ?? {})) {
    if (role === 'web' && hosts)
      throw new SlipwayError(
        'config',
        `${at([...envPath, 'roles', 'web'])}: environments.${environment}.roles.web: role "web" is defined ` +
          `twice (\`hosts\` is the web role) → move those hosts under roles.web.hosts`,
      );
    roleList.push([role, roleHosts, roleOverrides]);
  }
  const targets = roleList.flatMap(([role, list]) => list.map((h) => ({ ...parseHost(h, settings), role })));
  const seen = new Map<string, string>();
  for (const t of targets) {
    const other = seen.get(t.name);
    if (other)
      throw new SlipwayError(
        'config',
        `${where}: host ${t.name} is listed twice ` +
          `(${other === t.role ? `in role ${t.role}` : `in roles ${other} and ${t.role}`}) → a host runs one ` +
          `role: list it once`,
      );
    seen.set(t.name, t.role);
  }
  const isLocal = targets.some((t) => t.kind === 'local');
  if (isLocal && targets.length > 1) {
    throw new SlipwayError(
      'config',
      `${at([...envPath, 'hosts'])}: environments.${environment}.hosts: \`local\` cannot be mixed with other ` +
        `hosts → give the local target an environment of its own`,
    );
  }
  const runtime = settings.runtime ?? (isLocal ? 'supervisor' : 'systemd');
  const notLocal = runtimeFor({ runtime }).notLocal;
  if (isLocal && notLocal) throw new SlipwayError('config', `${where}: ${notLocal}`);
  const root = isLocal ? path.resolve(dir, settings.root) : settings.root;
  const rootAt = `${at(envRaw.root !== undefined ? [...envPath, 'root'] : ['root'])}: root`;
  if (!path.isAbsolute(root)) {
    throw new SlipwayError(
      'config',
      `${rootAt}: must be an absolute path on the host, got "${settings.root}" → e.g. /srv`,
    );
  }
  // a relative root (the local target) was checked for its characters only: check where it leads
  const systemFolder = isLocal && systemFolderProblem(root);
  if (systemFolder) throw new SlipwayError('config', `${rootAt}: ${systemFolder}`);
  const ssh = { ...settings.ssh, config_file: settings.ssh.config_file && path.resolve(dir, settings.ssh.config_file) };
  if (ssh.config_file && !opts.onHost && !existsSync(ssh.config_file)) {
    const sshAt = at(
      (envRaw as { ssh?: { config_file?: string } }).ssh?.config_file !== undefined
        ? [...envPath, 'ssh', 'config_file']
        : ['ssh', 'config_file'],
    );
    throw new SlipwayError(
      'config',
      `${sshAt}: ssh.config_file: ${ssh.config_file} does not exist → create it, or fix the path (relative to ` +
        `slipway.yml)`,
    );
  }
  if (settings.pull && (isLocal || !settings.agent)) {
    const pullAt = at(envRaw.pull !== undefined ? [...envPath, 'pull'] : ['pull']);
    const [why, fix] = isLocal
      ? ['the local target has none', 'set `pull` in an environment of servers']
      : ['`agent: false` turns it off', 'remove `agent: false`, or deploy with slipway deploy'];
    throw new SlipwayError('config', `${pullAt}: pull: the host's agent deploys what it pulls, and ${why} → ${fix}`);
  }
  if (settings.git_push && (isLocal || !settings.agent)) {
    const pushAt = at(envRaw.git_push !== undefined ? [...envPath, 'git_push'] : ['git_push']);
    const [why, fix] = isLocal
      ? ['the local target has none', 'set `git_push` in an environment of servers']
      : ['`agent: false` leaves it out', 'remove `agent: false`'];
    throw new SlipwayError(
      'config',
      `${pushAt}: git_push: the hook deploys with the agent's bundle, and ${why} → ${fix}`,
    );
  }
  if (settings.pull?.source.image !== undefined && !runtimeFor({ runtime }).image) {
    const imageAt = at([...(envRaw.pull !== undefined ? envPath : []), 'pull', 'source', 'image']);
    throw new SlipwayError(
      'config',
      `${imageAt}: pull.source.image: an image runs with \`runtime: docker\`, not ${runtime} → set runtime: docker`,
    );
  }
  if (settings.pull?.source.git !== undefined && settings.build.length) {
    const buildAt = at(envRaw.build !== undefined ? [...envPath, 'build'] : ['build']);
    throw new SlipwayError(
      'config',
      `${buildAt}: build: the agent does not run a repository's build commands (it is root on the host) → build in ` +
        'CI and publish signed artifacts (`source: { artifacts }`), or move the step into `install`, which runs as ' +
        "the app's user in its sandbox",
    );
  }
  if (settings.pull?.webhook && !settings.proxy) {
    const hookAt = at(envRaw.pull !== undefined ? [...envPath, 'pull', 'webhook'] : ['pull', 'webhook']);
    throw new SlipwayError(
      'config',
      `${hookAt}: pull.webhook: webhooks reach the agent through Caddy, and this environment has no \`proxy\` → ` +
        'set `proxy`, or remove `webhook` (the agent still looks every `interval`)',
    );
  }
  dashboardProblem(settings, envRaw, envPath, at);
  const resolved = (s: SettingsT, ts: Target[], label: string, checkRun = true): ResolvedConfig => {
    const adapter = runtimeFor({ runtime: s.runtime ?? runtime });
    if (adapter.needsProxy && !s.proxy) throw new SlipwayError('config', `${label}: ${adapter.needsProxy}`);
    if (checkRun && !s.run && runtimeFor({ runtime }).runsOnHost) {
      throw new SlipwayError(
        'config',
        `${label}: run: required → add \`run: node server.js\` (the command that starts your app) at the top ` +
          `level, in the environment or in the role`,
      );
    }
    if (isLocal && s.proxy) {
      throw new SlipwayError(
        'config',
        `${label}: proxy (Caddy) needs an SSH host; the local target serves the app directly on its port → set ` +
          `\`proxy\` in the environments that have servers rather than at the top level`,
      );
    }
    if (isLocal && s.user && s.user !== os.userInfo().username) {
      throw new SlipwayError(
        'config',
        `${label}: user: the local target runs the app as you (${os.userInfo().username}) and cannot switch to ` +
          `${s.user} → set \`user\` in the environments that have servers rather than at the top level`,
      );
    }
    const cfg: ResolvedConfig = {
      ...s,
      ssh,
      app: data.app,
      environment,
      run: s.run ?? '',
      runtime,
      user: s.user ?? data.app,
      userGiven: !!s.user,
      root,
      targets: ts,
      dir,
      file,
      appDir: path.posix.join(root, data.app),
      roles: {},
    };
    // a key's place: in the environment where it is set there, else at the top level; a section nowhere written
    // is wanted by the runtime, so the runtime is the place
    const keyAt = (key: string[]) => {
      if (envRaw[key[0]!] !== undefined) return at([...envPath, ...key]);
      if (raw[key[0]!] !== undefined) return at(key);
      return at(envRaw.runtime !== undefined ? [...envPath, 'runtime'] : ['runtime']);
    };
    const problem = adapter.configProblem?.(cfg, dir, keyAt);
    if (problem) throw new SlipwayError('config', problem);
    return cfg;
  };
  // `run` is checked per role: with roles, the environment itself may have none
  const cfg = { ...resolved(settings, targets, where, false), after };
  for (const [role, , roleOverrides] of roleList) {
    const label = roles?.[role]
      ? `${at([...envPath, 'roles', role])}: environments.${environment}.roles.${role}`
      : where;
    cfg.roles[role] = resolved(
      Settings.parse(deepMerge(envSettings, roleOverrides)),
      targets.filter((t) => t.role === role),
      label,
    );
  }
  return cfg;
}

export function parseHost(entry: string, settings: Pick<SettingsT, 'ssh'>): Target {
  if (entry === 'local') return { name: 'local', kind: 'local', role: 'web' };
  if (entry === 'self') return { name: 'self', kind: 'self', role: 'web' };
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(entry)!;
  const port = m[3] ? Number(m[3]) : settings.ssh.port;
  return { name: entry, kind: 'ssh', host: m[2]!, user: m[1] ?? settings.ssh.user, port, role: 'web' };
}

/** `dashboard.domain` is published by the app's Caddy, and over HTTPS unless TLS is said to end before it. */
function dashboardProblem(
  settings: SettingsT,
  envRaw: Record<string, unknown>,
  envPath: (string | number)[],
  at: (p: (string | number)[]) => string,
): void {
  const d = settings.dashboard;
  if (!d) return;
  const where = at([...(envRaw.dashboard !== undefined ? envPath : []), 'dashboard', 'domain']);
  if (!settings.proxy)
    throw new SlipwayError(
      'config',
      `${where}: dashboard.domain: the dashboard is published through Caddy, and this environment has no \`proxy\` → ` +
        'set `proxy`, or remove `dashboard` (slipway dashboard ENV opens it through SSH)',
    );
  if (!settings.proxy.domain && !d.plain_http)
    throw new SlipwayError(
      'config',
      `${where}: dashboard.domain: without \`proxy.domain\` Caddy serves plain HTTP, and logins would cross the ` +
        'network unencrypted → set proxy.domain (automatic HTTPS), or `plain_http: true` if TLS ends before Caddy',
    );
  if (d.domain === settings.proxy.domain)
    throw new SlipwayError(
      'config',
      `${where}: dashboard.domain: the app's own domain → give the dashboard its own name`,
    );
}
