// Connection problems give a precise error (exit 5) and change nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeApp, slipway } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();

describe('SSH connection errors', { skip }, () => {
  let host: TestHost;
  let app: string;
  const variant = (name: string, edit: (cfg: string) => string) => {
    const file = path.join(host.dir, `ssh_config.${name}`);
    writeFileSync(file, edit(readFileSync(host.sshConfig, 'utf8')));
    writeFileSync(
      path.join(app, 'slipway.yml'),
      `app: hello\nrun: node server.js\nssh:\n  config_file: ${file}\nenvironments:\n  production:\n    hosts: ` +
        `[web2]\n`,
    );
  };

  before(() => {
    host = bootHost('web2', 2212);
    app = makeApp('app: hello\nrun: node server.js\nenvironments:\n  production:\n    hosts: [web2]\n');
  });
  after(() => {
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('an unknown host key is refused with the command to add it', async () => {
    writeFileSync(path.join(host.dir, 'empty_known_hosts'), '');
    variant('unknown', (c) => c.replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${host.dir}/empty_known_hosts`));
    const r = await slipway(app, ['setup', 'production']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(
      r.stderr,
      /web2 \(127\.0\.0\.1 port 2212\): host key unknown: 127\.0\.0\.1 is not in .*empty_known_hosts/,
    );
    assert.match(r.stderr, /ssh-keyscan -p 2212 127\.0\.0\.1 >> .*empty_known_hosts/);
    assert.equal(readFileSync(path.join(host.dir, 'empty_known_hosts'), 'utf8'), '', 'known_hosts must not be written');
    assert.equal(host.exec('sh', '-c', 'test -e /srv/hello && echo yes || echo no').trim(), 'no');
  });

  it('a changed host key is refused as such', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(host.dir, 'other_host_key')]);
    const other = readFileSync(path.join(host.dir, 'other_host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(path.join(host.dir, 'changed_known_hosts'), `[127.0.0.1]:2212 ${other}\n`);
    variant('changed', (c) => c.replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${host.dir}/changed_known_hosts`));
    const r = await slipway(app, ['deploy', 'production', '--allow-dirty']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(r.stderr, /HOST KEY CHANGED/);
    assert.match(r.stderr, /ssh-keygen -R '\[127\.0\.0\.1\]:2212'/);
  });

  it('a key the host does not accept is reported as an authentication failure', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(host.dir, 'wrong_id')]);
    variant('wrongkey', (c) => c.replace(/IdentityFile .*/, `IdentityFile ${host.dir}/wrong_id`));
    const r = await slipway(app, ['status', 'production']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(r.stderr, /authentication failed as root/);
    assert.match(r.stderr, /authorized_keys/);
  });

  it('a host nobody listens on is reported as unreachable', async () => {
    writeFileSync(
      path.join(host.dir, 'closed_known_hosts'),
      readFileSync(path.join(host.dir, 'known_hosts'), 'utf8').replace(':2212', ':2299'),
    );
    variant('closed', (c) =>
      c
        .replace(/Port 2212/, 'Port 2299')
        .replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${host.dir}/closed_known_hosts`),
    );
    const r = await slipway(app, ['status', 'production']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(r.stderr, /cannot reach the SSH server/);
  });

  it('a closed port with no key on record is unreachable, never "add its key"', async () => {
    variant('closed-unknown', (c) =>
      c.replace(/Port 2212/, 'Port 2299').replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${host.dir}/none`),
    );
    const r = await slipway(app, ['status', 'production']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(r.stderr, /web2 \(127\.0\.0\.1 port 2299\): cannot reach the SSH server/);
    assert.doesNotMatch(r.stderr, /ssh-keyscan|host key unknown/);
  });

  it('a name that does not resolve is said so, never "add its key"', async () => {
    variant('no-such-name', (c) =>
      c
        .replace(/HostName .*/, 'HostName no-such-host.invalid')
        .replace(/UserKnownHostsFile .*/, 'UserKnownHostsFile /dev/null'),
    );
    const r = await slipway(app, ['status', 'production']);
    assert.equal(r.exitCode, 5, r.all);
    assert.match(r.stderr, /the name no-such-host\.invalid does not resolve/);
    assert.doesNotMatch(r.stderr, /ssh-keyscan|host key unknown/);
  });

  it('the working config connects (the variants above differ only in what they break)', async () => {
    variant('good', (c) => c);
    const r = await slipway(app, ['setup', 'production']);
    assert.equal(r.exitCode, 0, r.all);
  });
});
