// The runtime adapter contract, one suite run against every adapter that runs here (each in its own file, on its own
// host in its own network, so the suite's lanes share them out): deploy, change, rollback to an older kept release, a
// release failing its health check never served and reported as failed, status Synced and Healthy, logs, exec with
// every form of argument. Each app answers its message on / behind Caddy, and /health with 500 while health.txt says
// sick; a process prints "started <message>" when it starts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerUnavailable } from './docker.ts';
import { commit, slipway } from './env.ts';
import { deploy, onHost, page, repoOf, run, writeFiles } from './stack.ts';
import { bootHost, SERVER_LAYER, type TestHost, testhostUnavailable } from './testhost.ts';

export interface Adapter {
  runtime: 'systemd' | 'supervisor' | 'docker' | 'static' | 'swarm';
  /** its host: name and address (10.77.X.2, a network of its own) */
  host: string;
  address: string;
  layer?: { name: string; packages: string[] };
  /** the app's files; message.txt and health.txt are written by the suite */
  files: Record<string, string>;
  /** the file visitors get at / when it is not an app answering message.txt (a static site's index.html) */
  page?: string;
  /** slipway.yml's lines for the runtime (the suite adds app, proxy, environments and ssh) */
  config: string;
  /** after the files are written: build what the app needs (a binary) */
  prepare?(repo: string): void;
  /** a release that fails its health check; `heal` undoes it */
  breakIt(repo: string): void;
  heal(repo: string): void;
  /** a line the app's log shows */
  logged: RegExp;
  /** where exec finds message.txt: in the release folder, or in the image */
  messageAt?: string;
  /** the runtime passes $PORT to exec */
  execPort: boolean;
  skip?: string;
}

/** a Node server for the runtimes that start a command on the host */
export const NODE_SERVER = `const fs = require('node:fs');
const message = fs.readFileSync('message.txt', 'utf8');
const sick = fs.readFileSync('health.txt', 'utf8').trim() === 'sick';
console.log('started ' + message.trim());
require('node:http')
  .createServer((req, res) => {
    if (req.url === '/health') res.statusCode = sick ? 500 : 200;
    res.end(req.url === '/health' ? '' : message);
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

/** a static Go server for the image runtimes: a tiny image (with busybox's sh and wget) starts at once */
export const GO_SERVER = `package main

import (
\t"fmt"
\t"net/http"
\t"os"
)

func main() {
\tmessage, _ := os.ReadFile("/app/message.txt")
\thealth, _ := os.ReadFile("/app/health.txt")
\tfmt.Printf("started %s", message)
\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write(message) })
\t// what the file a secret's NAME_FILE names holds (the swarm runtime's Swarm secrets), as the app reads it
\thttp.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
\t\tsecret, _ := os.ReadFile(os.Getenv("DB_PASSWORD_FILE"))
\t\tw.Write(secret)
\t})
\thttp.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
\t\tif string(health) == "sick\\n" {
\t\t\tw.WriteHeader(500)
\t\t}
\t})
\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
`;

export const GO_IMAGE = {
  'main.go': GO_SERVER,
  'go.mod': 'module app\n\ngo 1.19\n',
  Dockerfile: `FROM scratch
COPY busybox /bin/sh
COPY busybox /bin/wget
COPY busybox /bin/cat
COPY busybox /bin/printf
COPY server message.txt health.txt /app/
CMD ["/app/server"]
`,
  '.dockerignore': '.git\n',
};

/** build the Go server as a static binary and put busybox beside it (for the image) */
export function buildGoImageFiles(repo: string): void {
  execFileSync('go', ['build', '-o', 'server', '.'], { cwd: repo, env: { ...process.env, CGO_ENABLED: '0' } });
  execFileSync('cp', ['/bin/busybox', path.join(repo, 'busybox')]);
}

export const sickHealth = (repo: string) => writeFiles(repo, { 'health.txt': 'sick\n' });
export const goodHealth = (repo: string) => writeFiles(repo, { 'health.txt': 'ok\n' });

export const DOCKER_LAYER = { name: 'docker', packages: [...SERVER_LAYER.packages, 'docker.io', 'docker-compose'] };
export const SWARM_LAYER = { name: 'swarm', packages: [...SERVER_LAYER.packages, 'docker.io', 'jq'] };

/** A repository with the tiny image's app (v1, healthy) and the start of its slipway.yml on a single-node swarm. */
export function swarmRepo(): { repo: string; yml: string } {
  const repo = repoOf('sw', { ...GO_IMAGE, 'message.txt': 'v1\n', 'health.txt': 'ok\n' });
  buildGoImageFiles(repo);
  const yml =
    'app: sw\nruntime: swarm\nport: 3000\nswarm: { init: true }\nhealth: { path: /health, timeout: 8 }\n' +
    'proxy: { port: 80 }\n';
  return { repo, yml };
}

/** why the image runtimes' tests cannot run here: no Docker engine, or no busybox for the tiny image */
export function imageUnavailable(): string | undefined {
  return dockerUnavailable() ?? (existsSync('/bin/busybox') ? undefined : 'no /bin/busybox (.ci/run installs it)');
}

/** an app run by a command on the host (the Node server) */
export const NODE_APP = {
  files: { 'server.js': NODE_SERVER },
  breakIt: sickHealth,
  heal: goodHealth,
  logged: /started v\d/,
  execPort: true,
  skip: testhostUnavailable(),
};

/** an app in an image (the Go server): its files under /app */
export const IMAGE_APP = {
  files: GO_IMAGE,
  prepare: buildGoImageFiles,
  breakIt: sickHealth,
  heal: goodHealth,
  logged: /started v\d/,
  messageAt: '/app/message.txt',
  execPort: true,
  skip: imageUnavailable(),
};

export function conformance(a: Adapter): void {
  describe(`the runtime adapter contract: ${a.runtime}`, { skip: a.skip }, () => {
    let host: TestHost;
    let repo = '';
    const url = `http://${a.address}/`;
    const ids: string[] = [];
    const say = (message: string) =>
      writeFiles(repo, { 'message.txt': `${message}\n`, ...(a.page ? { [a.page]: `${message}\n` } : {}) });
    const release = async (message: string) => {
      say(message);
      commit(repo, message);
      ids.push(await deploy(repo));
      assert.equal(await page(url), `${message}\n`);
    };
    const history = async () =>
      JSON.parse((await slipway(repo, ['history', 'production', '--json'])).stdout) as {
        event: string;
        release: string;
      }[];

    before(() => {
      host = bootHost(a.host, 22, { address: a.address, layer: a.layer ?? SERVER_LAYER });
      repo = repoOf(`conf-${a.runtime}`, { ...a.files, 'message.txt': 'v1\n', 'health.txt': 'ok\n' });
      a.prepare?.(repo);
      const settings = `${a.config}health: { path: /health, timeout: 8 }\nproxy: { port: 80 }\n`;
      writeFiles(repo, { 'slipway.yml': `app: conf\n${settings}${onHost(host)}` });
      commit(repo, 'the app');
    });
    after(() => {
      if (!process.env.KEEP) host?.down();
      if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
    });

    it('setup, a first deploy and two changes go live', async () => {
      await run(repo, ['setup', 'production']);
      await release('v1');
      await release('v2');
      await release('v3');
    });

    it('status: Synced and Healthy on every instance, naming the release that serves', async () => {
      const r = await slipway(repo, ['status', 'production', '--json']);
      assert.equal(r.exitCode, 0, r.all);
      const rows = JSON.parse(r.stdout);
      assert.ok(rows.length >= 1, JSON.stringify(rows));
      for (const row of rows as { sync: string; health: string; desired: string }[]) {
        assert.equal(row.sync, 'Synced', JSON.stringify(row));
        assert.equal(row.health, 'Healthy', JSON.stringify(row));
        assert.equal(row.desired, ids[2]);
      }
    });

    it('a rollback goes to an older kept release, two back', async () => {
      await run(repo, ['rollback', 'production', ids[0]!]);
      assert.equal(await page(url), 'v1\n');
      const last = (await history()).at(-1)!;
      assert.deepEqual([last.event, last.release], ['rolled_back', ids[0]]);
    });

    it('a release failing its health check is never served and is reported as failed', async () => {
      a.breakIt(repo);
      say('v4');
      commit(repo, 'v4, broken');
      const out = await run(repo, ['deploy', 'production'], 4);
      assert.match(out, /failed its health check|rolled the update back|is not a file of the release/);
      assert.equal(await page(url), 'v1\n');
      assert.equal((await history()).at(-1)!.event, 'failed');
      a.heal(repo);
      say('v1');
      commit(repo, 'healed');
    });

    it("logs show the app's output", async () => {
      assert.match(await run(repo, ['logs', 'production', '--lines', '200']), a.logged);
    });

    it('exec runs in the current release, every argument as typed', async () => {
      const out = await run(repo, ['exec', 'production', '--', 'cat', a.messageAt ?? 'message.txt']);
      assert.match(out, /^v1$/m);
      const args = await run(repo, [
        'exec',
        'production',
        '--',
        'printf',
        '[%s]',
        'a b',
        '$HOME',
        "it's",
        '"quoted"',
        'ünï',
        '',
      ]);
      assert.match(args, /\[a b\]\[\$HOME\]\[it's\]\["quoted"\]\[ünï\]\[\]/);
      if (a.execPort) {
        const port = await run(repo, ['exec', 'production', '--', 'sh', '-c', 'echo "port=$PORT"']);
        assert.match(port, /port=\d+/);
      }
    });
  });
}
