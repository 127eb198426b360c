// Pull mode from an image tag on a real host: a real registry (Debian's docker-registry) and a real Docker engine on
// the host. CI's part is played here: build the app's image and push it with a version tag. The agent watches the
// semver range by the manifest's digest and deploys each new one with the docker runtime's blue/green switch behind
// Caddy (no failed request under load); a failing image is rolled back, remembered by digest and not tried again;
// a tag outside the range is left alone; a newer good one goes live.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE, dockerUnavailable, ensureBaseImage } from '../helpers/docker.ts';
import { get, makeApp, ROOT, slipway, within } from '../helpers/env.ts';
import { startLoad } from '../helpers/load.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

const URL = 'http://127.0.0.1:8476';
const REPO = 'localhost:5000/pull-hello';
const REGISTRY_CONFIG =
  'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/docker-registry\nhttp:\n  addr: 127.0.0.1:5000\n';

describe('pull mode from an image tag', { skip: dockerUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  let context: string;
  const run = (...args: string[]) => slipway(app, args);
  const pullMemory = () =>
    JSON.parse(host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', 'http://agent/status')).apps.hello
      ?.pull as
      | { next?: string; bad: { image?: string; why: string }[]; offered?: string; checkedAt?: string }
      | undefined;
  const wake = async () => assert.equal((await run('agent', 'pull', 'production')).exitCode, 0);
  /** CI's part: the app's image with this message, pushed under this tag; its digest */
  const publish = (tag: string, message: string, broken = false) => {
    writeFileSync(path.join(context, 'message.txt'), `${message}\n`);
    const server = readFileSync(path.join(ROOT, 'examples/hello/server.js'), 'utf8');
    writeFileSync(path.join(context, 'server.js'), broken ? "console.error('broken'); process.exit(1);\n" : server);
    execFileSync('docker', ['build', '-q', '-t', `${REPO}:${tag}`, context], { stdio: 'ignore' });
    execFileSync('docker', ['push', '-q', `${REPO}:${tag}`], { stdio: 'ignore' });
    return execFileSync('docker', ['image', 'inspect', '--format', '{{index .RepoDigests 0}}', `${REPO}:${tag}`], {
      encoding: 'utf8',
    })
      .trim()
      .split('@')[1]!;
  };

  before(async () => {
    ensureBaseImage();
    host = bootHost('pullimg1', 2235);
    // the host shares this machine's network namespace: its engine must not add a bridge or firewall rules
    host.exec(
      'sh',
      '-c',
      'mkdir -p /etc/docker && echo \'{"bridge": "none", "iptables": false}\' > /etc/docker/daemon.json',
    );
    context = mkdtempSync(path.join(os.tmpdir(), 'slipway-image-'));
    execFileSync('cp', ['-r', `${ROOT}/examples/hello/.`, context]);
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD ["node", "server.js"]\n`,
    );
    const base =
      `app: hello\nruntime: docker\nport: 3976\nstop_timeout: 3\nproxy: { port: 8476, drain_timeout: 1 }\n` +
      `health: { path: /health, timeout: 12, interval: 0.3 }\nssh: { config_file: ${host.sshConfig} }\n`;
    app = makeApp(
      `${base}docker: { image: "${REPO}:1.0.0" }\nenvironments:\n  production:\n    hosts: [pullimg1]\n` +
        `    pull:\n      source: { image: ${REPO}, semver: "^1.0", exclude: "-rc" }\n      interval: 600\n`,
    );
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 0, s.all);
    host.exec('sh', '-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null');
    // Debian's registry asks for a password file by default: this one serves on loopback only, without
    host.exec('sh', '-c', `printf '%s' '${REGISTRY_CONFIG}' > /etc/docker/registry/config.yml`);
    host.exec('systemctl', 'restart', 'docker-registry');
    await within(
      30_000,
      () => host.exec('sh', '-c', 'curl -s -o /dev/null -w %{http_code} localhost:5000/v2/ || true') === '200',
    );
    publish('1.0.0', 'image one');
    const d = await run('deploy', 'production');
    assert.equal(d.exitCode, 0, d.all);
    assert.match((await get(URL)).body, /^image one /);
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    for (const d of [app, context]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('a new version in the range is deployed by the agent, blue/green, with no failed request', async (t) => {
    const digest = publish('1.1.0', 'image two');
    const load = startLoad(URL);
    t.after(() => load.stop());
    await wake();
    await within(60_000, async () => (await get(URL)).body.startsWith('image two (release '));
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    assert.equal(result.failed, 0, JSON.stringify({ ...result, bodies: [...result.bodies] }));
    assert.deepEqual([...result.bodies].sort(), ['image one', 'image two']);
    // the new release serves before the deploy's last step records it as desired
    const desiredImage = () => JSON.parse(host.exec('cat', '/srv/hello/.slipway/desired.json')).config.docker.image;
    await within(10_000, () => desiredImage() === `${REPO}@${digest}`);
    await within(10_000, () => pullMemory()?.offered === `1.1.0@${digest.slice(7, 19)}`);
  });

  it('a failing image is rolled back, remembered by digest, not retried; outside the range is left alone', async () => {
    const broken = publish('1.2.0', 'image three', true);
    await wake();
    await within(90_000, () => /failed and is not deployed again/.test(pullMemory()?.next ?? ''));
    assert.match((await get(URL)).body, /^image two /);
    assert.deepEqual(
      pullMemory()!.bad.map((b) => b.image),
      [broken],
    );
    await wake();
    // the failed digest is the last one tried: only a newer one is deployed
    const tried = `nothing newer than 1.2.0@${broken.slice(7, 19)}`;
    await within(20_000, () => pullMemory()?.next === tried);
    const checked = pullMemory()?.checkedAt;
    publish('2.0.0', 'image of the next major');
    publish('1.3.0-rc', 'a release candidate');
    await wake();
    await within(20_000, () => pullMemory()?.checkedAt !== checked && pullMemory()?.next === tried);
    assert.match((await get(URL)).body, /^image two /);

    publish('1.2.1', 'image four');
    await wake();
    await within(60_000, async () => (await get(URL)).body.startsWith('image four (release '));
  });
});
