// A Docker app as the source articles deploy it, without a registry: `slipway init` finds the Dockerfile;
// the image is built here and only its missing layers reach a real Debian host (its own network, its own
// Docker engine), where containers switch blue/green behind Caddy on port 80. The image runs as a non-root
// USER that writes its data to a shared folder; a change, a rollback, and a container that exits at once
// rolled back with no visitor seeing it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { BASE, dockerUnavailable, ensureBaseImage } from '../helpers/docker.ts';
import { DOCKER_LAYER } from '../helpers/conformance.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

const ADDRESS = '10.77.64.2';
const URL = `http://${ADDRESS}/`;
// an accessory: a cache on the host's loopback that says when it started
const CACHE_JS =
  "const t = Date.now(); require('http').createServer((q, s) => s.end(t + ' ' + process.env.TAG))" +
  ".listen(6390, '127.0.0.1')";
const COMPOSE = (tag: string) => `services:
  boxed:
    build: .
  cache:
    image: ${BASE}
    network_mode: host
    user: nobody
    environment: { TAG: "${tag}" }
    command: ["node", "-e", "${CACHE_JS}"]
`;

const skip = dockerUnavailable();

// counts its visits in a file of the shared folder: the container's user must be able to write there
const SERVER = `const fs = require('node:fs');
const http = require('node:http');
const message = fs.readFileSync('message.txt', 'utf8').trim();
http.createServer((req, res) => {
  fs.appendFileSync('data/visits.log', req.url + '\\n');
  res.end(message + '\\n');
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
const dockerfile = (cmd: string) => `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nEXPOSE 3000\nCMD ${cmd}\n`;

describe('a Docker app without a registry', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const say = (message: string) => {
    writeFiles(repo, { 'message.txt': `${message}\n` });
    commit(repo, message);
  };

  before(() => {
    ensureBaseImage();
    host = bootHost('box1', 22, { address: ADDRESS, layer: DOCKER_LAYER });
    // the host's engine adds no bridge and no firewall rules (the containers use the host's network)
    host.exec('sh', '-c', 'echo \'{"bridge": "none", "iptables": false}\' > /etc/docker/daemon.json');
    host.exec('systemctl', 'restart', 'docker');
    repo = repoOf('boxed', {
      Dockerfile: dockerfile('["node", "server.js"]'),
      '.dockerignore': '.git\n',
      'server.js': SERVER,
      'message.txt': 'v1\n',
    });
  });
  after(() => {
    host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('init writes the docker runtime on the port the Dockerfile EXPOSEs; setup and deploy serve it', async () => {
    const config = await initFor(repo, host);
    assert.match(config, /^runtime: docker$/m);
    assert.match(config, /^port: 3000$/m);
    // the one edit a user makes for data kept across releases: the shared folder
    writeFiles(repo, { 'slipway.yml': config.replace('  dirs: []', '  dirs: [data]') });
    commit(repo, 'keep data');
    await run(repo, ['setup', 'production']);
    await deploy(repo);
    assert.equal(await page(URL), 'v1\n');
    assert.equal(host.exec('stat', '-c', '%U', '/srv/boxed/shared/data').trim(), 'nobody');
    assert.match(host.exec('cat', '/srv/boxed/shared/data/visits.log'), /^\/$/m);
  });

  it('a change ships one layer and goes live; a rollback brings the kept image back', async () => {
    say('v2');
    const out = await run(repo, ['deploy', 'production']);
    assert.match(out, /Ship image .* 1 layer\(s\) sent/);
    assert.equal(await page(URL), 'v2\n');
    await run(repo, ['rollback', 'production']);
    assert.equal(await page(URL), 'v1\n');
  });

  it('a container that exits at once is rolled back; no visitor sees it', async () => {
    writeFiles(repo, {
      Dockerfile: dockerfile('["node", "-e", "console.error(\'no DATABASE_URL\'); process.exit(3)"]'),
    });
    commit(repo, 'broken');
    const out = await brokenUnderLoad(repo, URL, 'v1\n');
    assert.match(out, /kept exiting \(restarted \d+ times, last exit status 3\)/);
    assert.match(out, /no DATABASE_URL/);
  });

  /** the base image's tag on the host: its only layer is there already (under the app's image), so only its config */
  function tagBaseOnHost(): void {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-base-'));
    try {
      execFileSync('sh', ['-c', 'docker save "$1" | tar -x -C "$2"', 'sh', BASE, tmp]);
      const [m] = JSON.parse(readFileSync(path.join(tmp, 'manifest.json'), 'utf8')) as { Config: string }[];
      execFileSync('sh', [
        '-c',
        'tar -c -C "$1" manifest.json "$2" | ssh -F "$3" box1 docker load',
        'sh',
        tmp,
        m!.Config,
        host.sshConfig,
      ]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const cache = () => host.exec('curl', '-sS', 'http://127.0.0.1:6390/');
  const cacheContainer = () => host.exec('docker', 'ps', '--quiet', '--filter', 'name=cache').trim();

  it("a compose file's accessories start before the release goes live and stay up across deploys", async () => {
    tagBaseOnHost();
    writeFiles(repo, { Dockerfile: dockerfile('["node", "server.js"]'), 'compose.yml': COMPOSE('one') });
    const file = path.join(repo, 'slipway.yml');
    writeFiles(repo, {
      'slipway.yml': `${readFileSync(file, 'utf8')}docker:\n  compose: { file: compose.yml, service: boxed }\n`,
    });
    commit(repo, 'a cache beside the app');
    await run(repo, ['setup', 'production']);
    assert.match(await run(repo, ['deploy', 'production']), /Accessories: cache/);
    assert.equal(await page(URL), 'v2\n', 'the app as committed (the rollback before did not change the files)');
    const [started, tag] = cache().split(' ');
    assert.equal(tag, 'one');
    const container = cacheContainer();
    assert.notEqual(container, '');
    say('v5');
    await deploy(repo);
    assert.equal(await page(URL), 'v5\n');
    await run(repo, ['rollback', 'production']);
    assert.equal(await page(URL), 'v2\n');
    assert.deepEqual([cacheContainer(), cache()], [container, `${started} one`], 'left running as it was');
  });

  it('an accessory whose definition changed is recreated by the next deploy', async () => {
    writeFiles(repo, { 'compose.yml': COMPOSE('two') });
    commit(repo, 'cache two');
    await deploy(repo);
    assert.equal(cache().split(' ')[1], 'two');
    assert.notEqual(cacheContainer(), '');
  });
});
