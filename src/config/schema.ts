// The one schema for slipway.yml: TypeScript types, validation, the JSON Schema
// (`slipway config --schema`) and the README's configuration reference all come
// from here. Every nested field has a default or is optional, so an
// environment can override any part of a section without repeating the rest.
import semver from 'semver';
import * as z from 'zod';
import { hasControlChar } from '../text.ts';
import { RUNTIME_KINDS, RUNTIME_SETTINGS } from '../runtime/index.ts';
import { checkedBy, hostFile, relativePath } from './values.ts';
import { PUBLIC_KEY } from '../release/signing.ts';

// a command parses its slipway.yml once: compiling each schema to a function first costs more than it saves
z.config({ jitless: true });

export { relativePathProblem } from './values.ts';

const name = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,39}$/,
    'use lowercase letters, digits and "-", starting with a letter → e.g. `shop` or `api-2`',
  );
// The names Debian's adduser accepts for system users, without the trailing "$" of machine accounts
const userName = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    'is not a user name → lowercase letters, digits, "_" and "-", starting with a letter or "_", at most 32 ' +
      '(e.g. `shop` or `_shop`)',
  );
const command = z
  .string()
  .min(1, 'is empty → write the command, or remove the key')
  .refine(
    (s) => !hasControlChar(s.replaceAll('\t', '')),
    'has a line break or control character → write one command on one line (chain with && or put it in a script)',
  );
const seconds = z.number().positive();
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z
  .string()
  .regex(ENV_NAME, 'is not a variable name → use letters, digits and _, not starting with a digit (DATABASE_URL)');
// The loader turns YAML numbers and booleans into the text as written (`1.10` stays "1.10").
const envValue = z
  .union([z.string(), z.number(), z.boolean()])
  .refine(
    (v) => typeof v !== 'string' || !/[\n\r\0]/.test(v),
    'has a line break or NUL, which an env file cannot hold → put multi-line values in a shared file and read ' +
      'it from the app',
  );

/** A path linked from `shared/` into every release: a plain relative path, not the release itself, not a glob. */
const sharedPath = (what: string) =>
  relativePath(what).superRefine((p, ctx) => {
    if (
      p
        .replace(/\/+$/, '')
        .split('/')
        .every((seg) => seg === '' || seg === '.')
    )
      ctx.addIssue({
        code: 'custom',
        message: `${what} names the release folder itself → name a folder or file inside it, e.g. storage`,
      });
    else if (/[*?[\]{}]/.test(p))
      ctx.addIssue({ code: 'custom', message: `${what} is a glob ("${p}") → list each path` });
  });

// Characters a folder name needs on a server, and nothing a unit file, a shell or Caddy's JSON could read differently.
const ROOT_CHARS = /^[A-Za-z0-9._/+@-]+$/;
// the system's own folders: nothing may go inside them
const INSIDE_SYSTEM = '/bin /boot /dev /etc /lib /lib32 /lib64 /libx32 /proc /run /sbin /sys /usr'.split(' ');
/**
 * Folders of the operating system: an app folder there could overwrite or expose the system (`root: /`, `app: etc`).
 */
export const SYSTEM_FOLDERS = ['/', ...INSIDE_SYSTEM, ...'/root /var /home /tmp /opt /mnt /media'.split(' ')];

/** Why `root` cannot hold apps, or undefined. Relative roots (the local target) are checked once resolved. */
export function rootProblem(root: string): string | undefined {
  if (!ROOT_CHARS.test(root))
    return (
      `${JSON.stringify(root)} has a space, quote or other special character → use letters, digits and . _ ` +
      `- + @ / only, e.g. /srv`
    );
  if (!root.startsWith('/')) return undefined;
  if (root.split('/').some((seg) => seg === '..' || seg === '.') || root.includes('//'))
    return `"${root}" is not a plain path ("." , ".." or "//") → write it without them, e.g. /srv`;
  return systemFolderProblem(root);
}

/** Why an absolute, plain `root` is a system folder, or undefined. */
export function systemFolderProblem(root: string): string | undefined {
  const clean = root.replace(/\/+$/, '') || '/';
  if (SYSTEM_FOLDERS.includes(clean) || INSIDE_SYSTEM.some((f) => clean.startsWith(`${f}/`)))
    return `"${root}" is a system folder → use a folder of its own for apps, e.g. /srv or /opt/apps`;
  return undefined;
}

// An OpenSSH destination: no leading "-" (ssh would read an option), no spaces or shell characters.
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const SSH_HOST = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why a host entry is not `[user@]host[:port]`, an alias, `local` or `self`, or undefined. */
export function hostProblem(entry: string): string | undefined {
  if (entry === 'local' || entry === 'self') return undefined;
  const m = /^(?:([^@]*)@)?([^:@]*)(?::([^:]*))?$/.exec(entry);
  const hint = 'write `host`, `user@host`, `user@host:port`, an ssh config alias, `local` or `self`';
  if (!m) return `"${entry}" is not a host → ${hint}`;
  const [, user, host = '', port] = m;
  if (user !== undefined && !SSH_USER.test(user))
    return `user "${user}" is not a login name (letters, digits, . _ -, not starting with "-") → ${hint}`;
  if (!SSH_HOST.test(host))
    return `host "${host}" is not a host name or alias (letters, digits, . _ -, not starting with "-") → ${hint}`;
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
    return `port "${port}" is not between 1 and 65535 → write the SSH port, e.g. ${host}:22`;
  return undefined;
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
/** a deploy window: days (`Mon`, `Mon-Fri`, `Sat,Sun`, `*`) and a time range, which may wrap past midnight */
export const WINDOW = new RegExp(
  `^(\\*|${DAY}(?:-${DAY})?(?:,${DAY}(?:-${DAY})?)*) ([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-4]):[0-5]\\d$`,
);
const WINDOW_HINT = 'write DAYS HH:MM-HH:MM, e.g. `Mon-Fri 09:00-17:00` or `* 22:00-02:00`';

/** Why an artifact channel is not a plain folder on the host or an http(s) URL without credentials, or undefined. */
export function channelProblem(source: string): string | undefined {
  const hint = 'write a folder on the host (/srv/artifacts/shop) or a URL (https://ci.example.com/shop/)';
  if (hasControlChar(source) || /\s/.test(source)) return `has a space or control character → ${hint}`;
  if (source.startsWith('/')) {
    if (!ROOT_CHARS.test(source) || source.split('/').some((seg) => seg === '..' || seg === '.'))
      return `"${source}" is not a plain folder (special characters, "." or "..") → ${hint}`;
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return `"${source}" is neither an absolute folder nor a URL → ${hint}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} is not http(s) → ${hint}`;
  if (url.username || url.password)
    return 'holds credentials, which would be written on every host → publish to a URL that needs none';
  if (url.search || url.hash) return `has a query or fragment → ${hint}`;
  return undefined;
}

const IMAGE_REPO = /^(?:[a-z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** A regular expression given as text: refused at load when it does not compile. */
function regexText(description: string) {
  return z
    .string()
    .refine((v) => {
      try {
        new RegExp(v);
        return true;
      } catch {
        return false;
      }
    }, 'is not a regular expression → e.g. ^v?\\d+\\.\\d+\\.\\d+$')
    .optional()
    .describe(description);
}

/** a branch name git takes, without the characters a shell or a refspec would read */
export const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)[A-Za-z0-9._/-]*[A-Za-z0-9_-]$/;
const HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/;

/** Why a git source is not a repository URL (ssh, scp-like, https) or host folder without credentials, or undefined. */
export function gitSourceProblem(source: string): string | undefined {
  const hint =
    'write git@github.com:acme/shop.git, ssh://git@host:2222/srv/git/shop.git, https://host/shop.git or ' +
    '/srv/git/shop.git';
  if (hasControlChar(source) || /\s/.test(source)) return `has a space or control character → ${hint}`;
  if (source.startsWith('-')) return `starts with "-" → ${hint}`;
  if (source.startsWith('/'))
    return !ROOT_CHARS.test(source) || source.split('/').some((seg) => seg === '..' || seg === '.')
      ? `"${source}" is not a plain folder (special characters, "." or "..") → ${hint}`
      : undefined;
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/.test(source)) return undefined;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return `"${source}" is not a repository URL → ${hint}`;
  }
  if (url.protocol !== 'ssh:' && url.protocol !== 'https:')
    return `${url.protocol} is neither ssh: nor https: → ${hint}`;
  if (url.password || (url.protocol === 'https:' && url.username))
    return 'holds credentials, which would be written on every host → use the deploy key setup makes (ssh)';
  if (url.search || url.hash) return `has a query or fragment → ${hint}`;
  return undefined;
}

export const DEFAULT_WEBHOOK_PATH = '/_slipway/webhook';
const WEBHOOK_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9._~-]+)+$/;
const WEBHOOK_PATH_HINT = 'is not a plain path → write one like /_slipway/webhook (letters, digits, . _ ~ - and /)';

const pull = z
  .strictObject({
    source: z
      .strictObject({
        artifacts: checkedBy(channelProblem)
          .optional()
          .describe(
            'Where CI publishes signed artifacts with `slipway build --output DIR/ --sign ENV`: a folder on the ' +
              'host, or that folder served over http(s). The agent reads its `index.json`.',
          ),
        git: checkedBy(gitSourceProblem)
          .optional()
          .describe(
            'A git repository the agent fetches `branch` from (read-only, with the deploy key `setup` makes for ' +
              'ssh URLs); each new commit is deployed from its own slipway.yml, as a push would be.',
          ),
        branch: z
          .string()
          .regex(BRANCH, 'is not a plain branch name → e.g. main')
          .optional()
          .describe('With `git`: the branch deployed (default `main`).'),
        host_key: z
          .string()
          .regex(HOST_KEY, 'is not a public host key → paste the key part of its known_hosts line: ssh-ed25519 AAAA…')
          .optional()
          .describe(
            "With an ssh `git` URL: the git server's host key (`ssh-ed25519 AAAA…`). Unset: the entry in this " +
              "machine's ~/.ssh/known_hosts, copied by `setup`. Never taken on first use.",
          ),
        image: z
          .string()
          .regex(IMAGE_REPO, 'is not an image repository → e.g. registry.example.com/shop (no tag, no digest)')
          .optional()
          .describe(
            'An image repository on a registry (runtime: docker): the agent watches `tag` or the `semver` range ' +
              "by the manifest's digest and deploys each new digest with the docker runtime's blue/green switch.",
          ),
        tag: z
          .string()
          .regex(/^\w[\w.-]{0,127}$/, 'is not an image tag → e.g. latest or 1.4.2')
          .optional()
          .describe('With `image`: the tag to watch (`stable`, `latest`): each new digest behind it is deployed.'),
        semver: z
          .string()
          .refine((r) => semver.validRange(r) !== null, 'is not a semver range → e.g. ^1.4 (minor), ~1.4.2 (patch)')
          .optional()
          .describe(
            'With `image`: deploy the highest tag in this range (`^1.4`: up to the next major, `~1.4`: patches ' +
              'only, `>=1.4 <3`: two majors); a leading `v` is taken.',
          ),
        include: regexText('With `image` and `semver`: only tags matching this regular expression.'),
        exclude: regexText('With `image` and `semver`: never tags matching this regular expression (e.g. `-rc`).'),
        token_file: hostFile()
          .optional()
          .describe(
            'With `image`: a file on the host holding a bearer token for the registry (never in slipway.yml). ' +
              "The pull itself uses the host's `docker login`.",
          ),
      })
      .superRefine((src, ctx) => {
        const imageKeys = ['tag', 'semver', 'include', 'exclude', 'token_file'] as const;
        for (const k of imageKeys)
          if (src[k] !== undefined && src.image === undefined)
            ctx.addIssue({ code: 'custom', path: [k], message: `goes with \`image\` → remove it, or add \`image\`` });
        if (src.image !== undefined && (src.tag === undefined) === (src.semver === undefined))
          ctx.addIssue({
            code: 'custom',
            path: ['image'],
            message: 'needs `tag` or `semver`, one of them → e.g. `tag: stable` or `semver: ^1.4`',
          });
        const given = (['artifacts', 'git', 'image'] as const).filter((k) => src[k] !== undefined);
        if (given.length === 0)
          ctx.addIssue({
            code: 'custom',
            message:
              'names no source → write `source: { artifacts: DIR_OR_URL }`, `{ git: URL }` or ' +
              '`{ image: REPO, tag: T }`',
          });
        if (given.length > 1)
          ctx.addIssue({ code: 'custom', message: `names ${given.join(' and ')}: one source → keep one of them` });
        for (const k of ['branch', 'host_key'] as const)
          if (src[k] !== undefined && src.git === undefined)
            ctx.addIssue({ code: 'custom', path: [k], message: `goes with \`git\` → remove it, or add \`git\`` });
      })
      .describe('Where new versions come from.'),
    public_key: z
      .string()
      .regex(PUBLIC_KEY, 'is not an ed25519 public key → paste the line `slipway keys init ENV` printed')
      .optional()
      .describe(
        "With `artifacts`: the environment's deploy key (`ed25519:…`, from `slipway keys init ENV`): an artifact is " +
          'deployed only when signed with it, for this app and this environment.',
      ),
    interval: z
      .number()
      .int()
      .min(5)
      .default(60)
      .describe('Seconds between looks at the source (a webhook to the agent wakes it at once).'),
    cooldown: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Seconds a new version must have been published before it is deployed.'),
    approval: z
      .boolean()
      .default(false)
      .describe('Each pulled version waits for `slipway approve ID`, as `approval.required` makes every deploy do.'),
    webhook: z
      .union([z.boolean(), z.string().regex(WEBHOOK_PATH, WEBHOOK_PATH_HINT)])
      .optional()
      .transform((v) => (v === true ? DEFAULT_WEBHOOK_PATH : v || undefined))
      .describe(
        `Let CI wake the agent at once: \`true\` (the path ${DEFAULT_WEBHOOK_PATH}) or a path on the app's proxy ` +
          'site, where Caddy passes GitHub, Standard Webhooks and bearer-token calls to the agent; a webhook only ' +
          'makes it look at the source now. `slipway agent webhook ENV` prints the URL and the secret. Needs `proxy`.',
      ),
  })
  .superRefine((p, ctx) => {
    if (p.source.artifacts !== undefined && !p.public_key)
      ctx.addIssue({
        code: 'custom',
        path: ['public_key'],
        message: 'is needed with `source: { artifacts }` → run slipway keys init ENV and paste the line it prints',
      });
  })
  .optional()
  .describe(
    "Pull mode: the host's agent deploys each new signed version from the source by itself, with the same lock, " +
      'guardrails and health gate as a deploy from a laptop; a version that fails is never deployed again by it.',
  );

const gitPush = z
  .union([z.boolean(), z.strictObject({ branch: z.string().regex(BRANCH, 'is not a plain branch name → e.g. main') })])
  .optional()
  .transform((v) => (v === true ? { branch: 'main' } : v || undefined))
  .describe(
    '`git push ENV BRANCH` deploys: `setup` makes a bare repository on each host whose pre-receive hook deploys the ' +
      'pushed commit with the same guardrails as `slipway deploy`, and rejects the push when the deploy fails. ' +
      '`true` deploys `main`; `{ branch: NAME }` another branch (other branches are taken without a deploy).',
  );

const settingsShape = {
  run: command
    .optional()
    .describe(
      'Command that starts the app, run by /bin/sh in the current release (e.g. `node server.js`). The app must ' +
        'listen on $PORT. Required, except for `runtime: static` and `runtime: docker` (where it replaces the ' +
        "image's CMD).",
    ),
  runtime: z
    .enum(RUNTIME_KINDS)
    .optional()
    .describe(
      "How the app runs: `systemd` (a unit per app, for servers), `supervisor` (slipway's own, for hosts " +
        'without systemd), `static` (files only, served by Caddy from `current`; needs `proxy`), `docker` (a ' +
        'container per release, image built without a registry), `swarm` (a Swarm service rolled out by Swarm ' +
        'behind Caddy; needs `proxy`) or `kubernetes` (manifests applied with kubectl, behind an Ingress). ' +
        'Default: `supervisor` for the `local` target, `systemd` otherwise.',
    ),
  ...RUNTIME_SETTINGS,
  port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(3000)
    .describe('Port the app listens on (passed as $PORT); the HTTP health check calls it on 127.0.0.1.'),
  root: z
    .string()
    .min(1)
    .superRefine((r, ctx) => {
      const problem = rootProblem(r);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('/srv')
    .describe(
      'Directory holding apps on the host; this app lives in `<root>/<app>`. For the `local` target a relative ' +
        "path is resolved from slipway.yml's folder.",
    ),
  user: userName
    .optional()
    .describe(
      'Unprivileged service user the app runs as under systemd, and under the supervisor when you log in as ' +
        'root; created by `setup`. Default: the app name.',
    ),
  build: z
    .array(command)
    .default([])
    .describe('Commands run locally, in order, in the app folder before files are selected (e.g. `npm run build`).'),
  include: z
    .array(relativePath('glob'))
    .default(['**'])
    .describe(
      "Globs selecting the release's files. Files ignored by git are shipped only when a pattern other than " +
        '`**` matches them (e.g. `dist/**`).',
    ),
  exclude: z.array(relativePath('glob')).default([]).describe('Globs removed from the selection (`.git` never ships).'),
  shared: z
    .strictObject({
      dirs: z
        .array(sharedPath('folder'))
        .default([])
        .describe('Folders kept across releases in `shared/` and linked into each release (e.g. `storage`).'),
      files: z
        .array(sharedPath('file'))
        .default([])
        .describe('Files kept in `shared/` and linked into each release (e.g. `.env`); they must exist on the host.'),
    })
    .default({ dirs: [], files: [] })
    .describe('Persistent paths linked into every release.'),
  install: z
    .strictObject({
      command: command
        .optional()
        .describe(
          'Dependency install run on the host in the new release (e.g. `npm ci --omit=dev`). Unset: no install step.',
        ),
      lockfile: relativePath('lockfile')
        .default('package-lock.json')
        .describe(
          'File whose content (with the command) keys the install cache; with no such file the install always runs.',
        ),
      paths: z
        .array(sharedPath('path'))
        .default(['node_modules'])
        .describe('What the install produces; cached per lockfile hash and hard-linked into later releases.'),
      once: z
        .boolean()
        .default(false)
        .describe(
          'Run the install once, on this machine, in a copy of the release, and ship its result (`paths`) with ' +
            'the release to every host whose platform (OS, CPU architecture, C library) matches this one; other ' +
            'hosts run the install themselves. Cached here by lockfile, so an unchanged lockfile costs ' +
            "nothing. Native modules must also suit the hosts' Node version.",
        ),
      timeout: seconds
        .default(900)
        .describe('Seconds the install may take; a hung install is stopped and fails the deploy (lock released).'),
    })
    .default({ lockfile: 'package-lock.json', paths: ['node_modules'], once: false, timeout: 900 })
    .describe('Install step with a cache keyed by the lockfile: an unchanged lockfile costs nothing.'),
  hooks: z
    .strictObject({
      before_activate: z
        .array(command)
        .default([])
        .describe(
          'Commands run on the host in the new release before it goes live (migrations). A failure aborts the ' +
            'deploy; `current` is untouched.',
        ),
      after_activate: z
        .array(command)
        .default([])
        .describe(
          'Commands run after the new release passed its health check. A failure rolls back to the previous release.',
        ),
    })
    .default({ before_activate: [], after_activate: [] })
    .describe(
      'Hook commands, run by /bin/sh with SLIPWAY_APP, SLIPWAY_ENV, SLIPWAY_RELEASE, SLIPWAY_RELEASE_PATH, ' +
        'SLIPWAY_PREVIOUS_RELEASE, SLIPWAY_REVISION, SLIPWAY_DEPLOYER and SLIPWAY_HOST set, as the app user ' +
        'with its env file.',
    ),
  health: z
    .strictObject({
      path: z
        .string()
        .regex(
          /^\/[\x21-\x7e]*$/,
          'must start with / and hold no space or control character → e.g. /health (encode a space as %20)',
        )
        .default('/')
        .describe('HTTP path requested on 127.0.0.1:$PORT on the host.'),
      status: z.number().int().min(100).max(599).default(200).describe('Expected HTTP status.'),
      command: command
        .optional()
        .describe('Instead of HTTP: a command run in the release on the host that must exit 0.'),
      timeout: seconds.default(30).describe('Seconds the check may take to pass before the release is rolled back.'),
      interval: seconds.default(0.5).describe('Seconds between attempts, after ten quick ones 50 ms apart.'),
      request_timeout: seconds.default(5).describe('Seconds one HTTP attempt may take.'),
    })
    .default({ path: '/', status: 200, timeout: 30, interval: 0.5, request_timeout: 5 })
    .describe('Health check after every restart; failing it restores the previous release.'),
  env: z
    .record(envName, envValue)
    .default({})
    .describe('Plain environment variables for the app, written to its env file.'),
  secrets: z
    .array(envName)
    .default([])
    .describe(
      "Names of secret variables, read from the deploying machine's environment at deploy time, written to the " +
        'env file (mode 0400) and never printed.',
    ),
  keep_releases: z
    .number()
    .int()
    .min(2)
    .default(5)
    .describe(
      'Releases kept on each host (at least 2): the current one first, then those a rollback can go to, then ' +
        'other healthy ones; failed and bad ones are pruned first. A release a blue/green slot still runs is ' +
        'kept on top.',
    ),
  stop_timeout: seconds.default(10).describe('Seconds between SIGTERM and SIGKILL when stopping the app.'),
  lock_wait: z
    .number()
    .min(0)
    .default(0)
    .describe("Seconds a deploy waits for another deploy's lock before failing (also `--lock-wait`)."),
  proxy: z
    .strictObject({
      domain: z
        .string()
        .regex(/^[a-z0-9.-]+$/i, 'a host name such as shop.example.com')
        .optional()
        .describe(
          'Serve the app on this domain with automatic HTTPS (ports 80 and 443). Unset: plain HTTP on `proxy.port`.',
        ),
      port: z
        .number()
        .int()
        .min(1)
        .max(65535)
        .default(80)
        .describe('Port Caddy serves plain HTTP on when there is no domain.'),
      drain_timeout: seconds
        .default(30)
        .describe(
          'Seconds the previous release keeps running after the switch, finishing in-flight requests; a ' +
            'rollback within this time is only a switch back.',
        ),
    })
    .optional()
    .describe(
      'Put Caddy in front and switch blue/green with no dropped request: each release starts on the idle slot ' +
        '(ports `port` and `port + 1`), is health-checked there, then receives the traffic. `setup` installs ' +
        'Caddy and runs it in API mode (caddy-api.service).',
    ),
  rollout: z
    .strictObject({
      concurrency: z
        .number()
        .int()
        .min(1)
        .default(10)
        .describe('Hosts worked on at the same time (connections, transfers, restarts).'),
      limit: z
        .union([z.number().int().min(1), z.string().regex(/^(100|[1-9][0-9]?)%$/, 'a percentage such as "25%"')])
        .optional()
        .describe(
          'Rolling deploy: hosts per group (`2`) or a share of them (`"25%"`); each group must pass its health ' +
            'check before the next starts, and a failure rolls back every group already switched. Unset: all ' +
            'hosts at once. Also `--limit`.',
        ),
      pause: z
        .number()
        .min(0)
        .default(0)
        .describe('Seconds to wait between groups of a rolling deploy (also `--pause`).'),
    })
    .default({ concurrency: 10, pause: 0 })
    .describe('How a deploy goes through many hosts.'),
  checks: z
    .array(
      z.strictObject({
        run: command.describe('The command, run by /bin/sh.'),
        on: z
          .enum(['local', 'host'])
          .default('local')
          .describe(
            '`local`: on this machine, in the app folder (your test suite: CI gates the deploy); `host`: on ' +
              'every host, in the app folder there.',
          ),
        timeout: seconds.default(600).describe('Seconds before the check counts as failed.'),
      }),
    )
    .default([])
    .describe(
      'Checks that must pass before a deploy changes anything. A failure halts the deploy and is recorded in ' +
        'the history.',
    ),
  approval: z
    .strictObject({
      required: z
        .boolean()
        .default(false)
        .describe('Wait for a human: `slipway approve ID` (or `reject ID`) from any terminal.'),
      timeout: seconds.default(3600).describe('Seconds to wait; then the deploy fails with nothing switched.'),
    })
    .default({ required: false, timeout: 3600 })
    .describe(
      'Human approval, asked once the release is on the hosts and before any hook runs or anything goes live; ' +
        'who and when are recorded.',
    ),
  wait_for: z
    .array(
      z
        .strictObject({
          command: command
            .optional()
            .describe(
              'Must exit 0; run on every host in the new release as the app runs (its user, env file and $PORT).',
            ),
          http: z
            .url()
            .optional()
            .describe('Must answer `status`; requested on every host (e.g. `http://127.0.0.1:9200/_cluster/health`).'),
          status: z.number().int().default(200).describe('Expected HTTP status for `http`.'),
          timeout: seconds.default(60).describe('Seconds to keep trying before the deploy fails (nothing switched).'),
          interval: seconds.default(1).describe('Seconds between attempts.'),
        })
        .refine((w) => !!w.command !== !!w.http, 'give either `command` or `http`'),
    )
    .default([])
    .describe(
      'Conditions polled before activation (a migration applied, a dependency up); the deploy says what it waits for.',
    ),
  verify: z
    .strictObject({
      duration: z
        .number()
        .min(0)
        .default(0)
        .describe('Seconds to keep checking after activation; 0: no verification window.'),
      interval: seconds.default(2).describe('Seconds between checks.'),
      command: command
        .optional()
        .describe(
          'Also run on every host, in the release, as the app runs, at each check; a non-zero exit fails the ' +
            'verification (e.g. an error-rate check).',
        ),
      error_rate: z
        .strictObject({
          url: z.url().describe('Requested on the host; must answer a number (the current error rate).'),
          max: z.number().min(0).describe('The highest acceptable answer.'),
        })
        .optional()
        .describe('An error-rate endpoint checked at each check.'),
    })
    .default({ duration: 0, interval: 2 })
    .describe(
      'Verification window: the health check (and `command`, `error_rate`) keep passing for `duration` seconds ' +
        'after activation, or the previous release is restored and this one marked bad.',
    ),
  windows: z
    .strictObject({
      allow: z
        .array(z.string().regex(WINDOW, WINDOW_HINT))
        .default([])
        .describe('Deploys only in these windows, e.g. `Mon-Fri 09:00-17:00`, `Sat,Sun 10:00-12:00`, `* 22:00-02:00`.'),
      block: z
        .array(z.string().regex(WINDOW, WINDOW_HINT))
        .default([])
        .describe('Never in these windows, e.g. `Fri 15:00-23:59`.'),
      timezone: z.string().min(1).default('UTC').describe('IANA time zone of the windows, e.g. `Europe/Berlin`.'),
    })
    .default({ allow: [], block: [], timezone: 'UTC' })
    .describe('When deploys may run; `--force` overrides, and the override is recorded.'),
  webhooks: z
    .array(
      z.strictObject({
        url: z.url().describe('Receives a POST for every event.'),
        format: z
          .enum(['json', 'slack'])
          .default('json')
          .describe('`json`: the event as a JSON object; `slack`: a Slack-compatible `{ "text": … }` message.'),
      }),
    )
    .default([])
    .describe(
      'Notified when a deploy starts, succeeds, fails, waits for approval, and on rollbacks. Retried three ' +
        'times; a failing webhook never fails a deploy.',
    ),
  ssh: z
    .strictObject({
      user: z
        .string()
        .regex(SSH_USER, 'is not a login name (letters, digits, . _ -, not starting with "-") → e.g. deploy')
        .optional()
        .describe('SSH login user when the host entry has none (default: your ssh config, then your local user).'),
      port: z.number().int().min(1).max(65535).optional().describe('SSH port when the host entry has none.'),
      config_file: z
        .string()
        .min(1)
        .refine((p) => !hasControlChar(p), 'has a control character → remove it')
        .optional()
        .describe('An ssh_config file to use instead of ~/.ssh/config (relative to slipway.yml).'),
      persist: z
        .number()
        .int()
        .min(0)
        .default(60)
        .describe(
          'Seconds the SSH connection to a host stays open after a command, so the next command skips the ' +
            "handshake (a private control socket, like Ansible's ControlPersist); 0 closes it when the command ends.",
        ),
    })
    .default({ persist: 60 })
    .describe('OpenSSH client settings; ~/.ssh/config (aliases, IdentityFile, ProxyJump, agent) is honoured.'),
  agent: z
    .boolean()
    .default(true)
    .describe(
      '`setup` installs the slipway agent (slipway-agent.service) on each server: it keeps the app at its desired ' +
        'release by itself (restarts a stopped app, rewrites a changed unit or Caddy route, re-points `current`), ' +
        'records every heal and tells the webhooks. `false`: no agent. Not on the `local` target.',
    ),
  pull,
  git_push: gitPush,
  dashboard: z
    .strictObject({
      domain: z
        .string()
        .regex(/^[a-z0-9.-]+$/i, 'a host name such as deploy.example.com')
        .describe(
          "Publish the agent's dashboard on this name through the app's Caddy (with `proxy.domain`, over HTTPS): " +
            'logins are one-time links from `slipway dashboard ENV --invite`, then passkeys. Unset: only ' +
            '`slipway dashboard ENV`, through an SSH tunnel.',
        ),
      plain_http: z
        .boolean()
        .default(false)
        .describe(
          'Allow the dashboard on a plain-HTTP proxy (no `proxy.domain`): only where TLS ends before Caddy (a load ' +
            'balancer), since logins cross the network.',
        ),
    })
    .optional()
    .describe('The web dashboard the agent serves (always reachable through `slipway dashboard ENV`).'),
};

export const Settings = z.strictObject(settingsShape);

const hostList = z.array(checkedBy(hostProblem)).min(1);

/** What a role may set for its hosts: how the app runs there, not what the release is. */
const ROLE_KEYS = ['run', 'port', 'health', 'env', 'hooks', 'proxy', 'stop_timeout'] as const;

export const Role = z.strictObject({
  hosts: hostList.describe('Hosts of this role.'),
  ...Object.fromEntries(ROLE_KEYS.map((k) => [k, (settingsShape[k] as z.ZodType).optional()])),
}) as unknown as z.ZodObject<
  { hosts: typeof hostList } & { [K in (typeof ROLE_KEYS)[number]]: z.ZodOptional<(typeof settingsShape)[K]> }
>;

export const Environment = z
  .strictObject({
    hosts: hostList
      .optional()
      .describe(
        'Hosts of this environment: `[user@]host[:port]`, an alias from your ssh config, `local` (a folder ' +
          'on this machine, under `root`, run by the supervisor as you) or `self` (this machine as a real server: ' +
          'systemd, Caddy and the service user, as over SSH; for running slipway on the server itself). They form ' +
          'the role `web`.',
      ),
    after: name
      .optional()
      .describe(
        'The environment before this one: `slipway promote <after> <this>` ships the very release that is live ' +
          'and healthy there, and refuses one that never passed it.',
      ),
    roles: z
      .record(name, Role)
      .optional()
      .describe(
        `Hosts grouped by what they run, e.g. \`web\` and \`worker\`; each role may set ` +
          `${ROLE_KEYS.map((k) => `\`${k}\``).join(', ')} for its hosts. A host belongs to one role.`,
      ),
    ...Object.fromEntries(Object.entries(settingsShape).map(([k, v]) => [k, (v as z.ZodType).optional()])),
  })
  .refine((e) => e.hosts || e.roles, "list the environment's `hosts`, or its `roles`") as unknown as z.ZodObject<
  {
    hosts: z.ZodOptional<typeof hostList>;
    after: z.ZodOptional<typeof name>;
    roles: z.ZodOptional<z.ZodRecord<typeof name, typeof Role>>;
  } & { [K in keyof typeof settingsShape]: z.ZodOptional<(typeof settingsShape)[K]> }
>;

export const ConfigFile = z.strictObject({
  app: name.describe(
    'Name of the app: the folder `<root>/<app>` on the host, the unit `slipway-<app>.service`, and the default ' +
      'service user.',
  ),
  ...settingsShape,
  environments: z
    .record(name, Environment)
    .refine((e) => Object.keys(e).length > 0, 'define at least one environment')
    .describe(
      'Named environments (`production`, `staging`, `demo` …). Each lists its hosts and may override any ' +
        'setting above.',
    ),
});

export type SettingsT = z.output<typeof Settings>;
export type ConfigFileT = z.output<typeof ConfigFile>;

/** The JSON Schema editors use for slipway.yml (`slipway config --schema`). */
export function jsonSchema(): unknown {
  return { ...z.toJSONSchema(ConfigFile, { io: 'input' }), title: 'slipway.yml' };
}
