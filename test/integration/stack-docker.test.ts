// A Docker app as the source articles deploy it, without a registry: `slipway init` finds the Dockerfile;
// the image is built here and only its missing layers reach a real Debian host (its own network, its own
// Docker engine), where containers switch blue/green behind Caddy on port 80. The image runs as a non-root
// USER that writes its data to a shared folder; a change, a rollback, and a container that exits at once
// rolled back with no visitor seeing it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const BASE = 'slipway-test-base:1';
const ADDRESS = '10.77.64.2';
const URL = `http://${ADDRESS}/`;
const LAYER = { name: 'docker', packages: [...SERVER_LAYER.packages, 'docker.io'] };

function dockerUnavailable(): string | undefined {
  const why = testhostUnavailable();
  if (why) return why;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
  } catch {
    return 'no Docker engine answers here (.ci/run starts dockerd)';
  }
  return undefined;
}
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
    try {
      execFileSync('docker', ['image', 'inspect', BASE], { stdio: 'ignore' });
    } catch {
      execFileSync('sh', ['-c', `tar -C /var/cache/testhost/rootfs -c . | docker import - ${BASE}`], {
        stdio: 'ignore',
      });
    }
    host = bootHost('box1', 22, { address: ADDRESS, layer: LAYER });
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
});
