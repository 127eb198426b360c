import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { layersToSend } from '../../src/runtime/docker-image.ts';
import { dockerEnvContent, dockerRuntime, runArgv, startArgv } from '../../src/runtime/docker.ts';

const cfg = resolveEnvironment(
  parseConfig(
    'app: shop\nruntime: docker\nport: 3000\nstop_timeout: 7\nshared:\n  dirs: [storage]\nproxy:\n  port: ' +
      '8080\nenvironments:\n  production:\n    hosts: [web1]\n',
    '/apps/shop/slipway.yml',
  ),
  'production',
);

describe('docker runtime', () => {
  it('sends only the layers whose chain the host lacks', () => {
    assert.deepEqual(layersToSend(['base', 'deps', 'app'], []), [0, 1, 2]);
    assert.deepEqual(layersToSend(['base', 'deps', 'app2'], [['base', 'deps', 'app1']]), [2]);
    // the same layer on top of a different base is a different chain: it must be sent
    assert.deepEqual(layersToSend(['base', 'deps'], [['other', 'deps']]), [0, 1]);
    assert.deepEqual(layersToSend(['base'], [['base', 'x']]), []);
  });

  it('docker run: host network on the slot port, env file, shared volumes, labels, release', () => {
    assert.deepEqual(runArgv(cfg, 'R1', 'b'), [
      'docker',
      'run',
      '--detach',
      '--name',
      'slipway-shop-b',
      '--restart',
      'unless-stopped',
      '--network',
      'host',
      '--env-file',
      '/srv/shop/.slipway/docker.env',
      '--env',
      'PORT=3001',
      '--env',
      'SLIPWAY_RELEASE=R1',
      '--label',
      'slipway.app=shop',
      '--label',
      'slipway.release=R1',
      '--stop-timeout',
      '7',
      '--volume',
      '/srv/shop/shared/storage:/app/storage',
      'slipway-shop:R1',
    ]);
    assert.deepEqual(runArgv({ ...cfg, run: 'node server.js' }, 'R1').slice(-4), [
      'slipway-shop:R1',
      '/bin/sh',
      '-c',
      'exec node server.js',
    ]);
  });

  it("a container starts after its shared folders are given to the image's user, or to docker.shared_owner", () => {
    const args = (c: typeof cfg) => startArgv(c, 'R1', 'a').slice(3, 12);
    const rest = ['/srv/shop/shared/storage', '--', 'docker', 'run'];
    assert.deepEqual(args(cfg), [
      'slipway',
      'slipway-shop-a',
      'slipway-shop:R1',
      '',
      '/srv/shop/.slipway/docker-owner',
      ...rest,
    ]);
    const owned = { ...cfg, docker: { ...cfg.docker, shared_owner: '1000:1000' } };
    assert.deepEqual(args(owned), [
      'slipway',
      'slipway-shop-a',
      'slipway-shop:R1',
      '1000:1000',
      '/srv/shop/.slipway/docker-owner',
      ...rest,
    ]);
    assert.deepEqual(startArgv(cfg, 'R1', 'a').slice(12), runArgv(cfg, 'R1', 'a').slice(2));
  });

  it("the env file uses docker's format, and exec runs a new container of the release's image", () => {
    assert.equal(dockerEnvContent({ A: 'x y', B: 'say "hi"' }), 'A=x y\nB=say "hi"\n');
    const { argv, sudo } = dockerRuntime.execArgv(cfg, 'npm run migrate', {
      cwd: '/srv/shop/releases/R2',
      env: { SLIPWAY_RELEASE: 'R2' },
    });
    assert.equal(sudo, true);
    assert.deepEqual(argv.slice(3), [
      'slipway',
      '/srv/shop/releases/R2',
      'shop',
      'npm run migrate',
      'docker',
      'run',
      '--rm',
      '-i',
      '--network',
      'host',
      '--env-file',
      '/srv/shop/.slipway/docker.env',
      '--env',
      'PORT=3000',
      '--env',
      'SLIPWAY_RELEASE=R2',
      '--volume',
      '/srv/shop/shared/storage:/app/storage',
    ]);
  });
});
