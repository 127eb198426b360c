// Commands are built by pure functions as argument arrays: compared exactly.
import assert from 'node:assert/strict';
import { commandsNeeded } from '../../src/engine/setup.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { andThen } from '../../src/server/layout.ts';
import { resolveEnvironment, parseConfig } from '../../src/config/load.ts';
import { CommandError, renderArgv, shellQuote } from '../../src/errors.ts';
import { supervisorRuntime } from '../../src/runtime/supervisor.ts';
import { sandboxProperties, systemdRuntime, systemdUnit } from '../../src/runtime/systemd.ts';
import { envFileContent, parseEnvFile } from '../../src/server/env-file.ts';
import { healthArgv } from '../../src/server/release.ts';
import { parseKeys, socketDir, sshCommand, sshOptions } from '../../src/transport/ssh.ts';

const cfg = resolveEnvironment(
  parseConfig(
    'app: shop\nrun: node server.js\nport: 8080\nenvironments:\n  production:\n    hosts: [deploy@web1:2222]\n',
    '/apps/shop/slipway.yml',
  ),
  'production',
);
const target = cfg.targets[0]!;

describe('command building', () => {
  it('ssh: options, the master connection path, and the remote argv quoted once', () => {
    const options = [
      ...['-o', 'BatchMode=yes', '-o', 'ControlPath=/tmp/s/%C.1'],
      ...['-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4'],
      ...['-p', '2222', '-l', 'deploy'],
    ];
    assert.deepEqual(sshOptions(target, { configFile: '/home/me/.ssh/alt', controlPath: '/tmp/s/%C.1' }), [
      '-F',
      '/home/me/.ssh/alt',
      ...options,
    ]);
    assert.deepEqual(sshCommand(target, { controlPath: '/tmp/s/%C.1' }, ['sh', '-c', 'echo "$1"', 'slipway', "it's"]), [
      'ssh',
      ...options,
      '-o',
      'ControlMaster=no',
      '-T',
      '--',
      'web1',
      `sh -c 'echo "$1"' slipway 'it'\\''s'`,
    ]);
    assert.ok(
      !sshOptions(target, { controlPath: 'x' }).some((a) => /StrictHostKeyChecking/i.test(a)),
      'host key checking is never relaxed',
    );
  });

  it('the control socket folder is private: made 0700, refused when others can enter it', () => {
    const run = mkdtempSync(path.join(os.tmpdir(), 'slipway-run-'));
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = run;
    try {
      assert.equal(socketDir(), path.join(run, 'slipway'));
      assert.equal(statSync(path.join(run, 'slipway')).mode & 0o777, 0o700);
      chmodSync(path.join(run, 'slipway'), 0o755);
      assert.throws(
        () => socketDir(),
        /slipway: the SSH control socket folder must be a folder owned by you with mode 0700/,
      );
    } finally {
      process.env.XDG_RUNTIME_DIR = saved;
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      rmSync(run, { recursive: true, force: true });
    }
  });

  it(
    'andThen runs two argvs in one command: the second only if the first ' +
      'succeeded, values never part of the script',
    () => {
      const argv = andThen(
        ['sh', '-c', 'cat > "$1"; echo "first $2"', 'slipway', '/tmp/x y', "it's"],
        ['echo', 'second', '$HOME', 'a;b'],
      );
      assert.deepEqual(argv, [
        'sh',
        '-c',
        '"${1}" "${2}" "${3}" "${4}" "${5}" "${6}" || exit $?\nshift 6\nexec "$@" </dev/null',
        'slipway',
        'sh',
        '-c',
        'cat > "$1"; echo "first $2"',
        'slipway',
        '/tmp/x y',
        "it's",
        'echo',
        'second',
        '$HOME',
        'a;b',
      ]);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-andthen-'));
      try {
        const file = path.join(dir, 'in put');
        const ok = execFileSync(
          argv[0]!,
          argv.slice(1).map((a) => a.replace('/tmp/x y', file)),
          { input: 'stdin goes to the first', encoding: 'utf8' },
        );
        assert.equal(ok, "first it's\nsecond $HOME a;b\n");
        assert.equal(readFileSync(file, 'utf8'), 'stdin goes to the first');
        const stopped = andThen(['sh', '-c', 'exit 41'], ['touch', path.join(dir, 'ran')]);
        const failed = spawnSync(stopped[0]!, stopped.slice(1));
        assert.equal(failed.status, 41);
        assert.ok(!existsSync(path.join(dir, 'ran')), 'the second step must not run after the first failed');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('shellQuote leaves safe words alone and single-quotes the rest', () => {
    assert.deepEqual(['a/b.c', '', 'a b', "x'y", '$HOME', 'a;b'].map(shellQuote), [
      'a/b.c',
      "''",
      "'a b'",
      `'x'\\''y'`,
      "'$HOME'",
      "'a;b'",
    ]);
    assert.equal(renderArgv(['rm', '-rf', '--', '/srv/a b']), "rm -rf -- '/srv/a b'");
  });

  it("health: an HTTP check on the host's loopback, or a command in the release", () => {
    const spec = { path: '/up', status: 204, timeout: 7.5, interval: 0.25, request_timeout: 2 };
    const http = healthArgv(spec, { port: 8080 }, '/srv/shop/releases/R');
    assert.deepEqual(
      [http[0], http[1], ...http.slice(3)],
      ['sh', '-c', 'slipway', 'http://127.0.0.1:8080/up', '204', '8', '0.25', '2', ''],
    );
    const site = healthArgv(
      spec,
      { port: 443, site: { base: 'https://shop.example.com', resolve: 'shop.example.com:443:127.0.0.1' } },
      '/srv/shop/releases/R',
    );
    assert.deepEqual(site.slice(3), [
      'slipway',
      'https://shop.example.com/up',
      '204',
      '8',
      '0.25',
      '2',
      'shop.example.com:443:127.0.0.1',
    ]);
    const cmd = healthArgv(
      { path: '/', status: 200, command: 'bin/check --ready', timeout: 10, interval: 1, request_timeout: 5 },
      { port: 8080 },
      '/srv/shop/releases/R',
    );
    assert.deepEqual(cmd.slice(3), ['slipway', '/srv/shop/releases/R', 'bin/check --ready', '10', '1', '8080']);
    // a process manager that gave up on the app ends the check early: its probe goes after the check's arguments
    const gaveUp = systemdRuntime.gaveUpArgv!(cfg);
    assert.deepEqual([gaveUp[0], gaveUp[1], ...gaveUp.slice(3)], ['sh', '-c', 'slipway', 'slipway-shop.service']);
    assert.deepEqual(systemdRuntime.gaveUpArgv!(cfg, 'b').at(-1), 'slipway-shop@b.service');
    assert.deepEqual(healthArgv(spec, { port: 8080, gaveUp }, '/srv/shop/releases/R').slice(-6), ['', ...gaveUp]);
  });

  it('systemd: logs, exec as the service user with the env file, under sudo', () => {
    assert.deepEqual(systemdRuntime.logsArgv(cfg, { lines: 50, follow: true }), {
      argv: [
        'journalctl',
        '--unit',
        'slipway-shop.service',
        '--lines',
        '50',
        '--no-pager',
        '--output',
        'short-iso',
        '--follow',
      ],
      sudo: true,
    });
    const sandbox = sandboxProperties('/srv/shop/shared').map((p) => `--property=${p}`);
    assert.deepEqual(
      systemdRuntime.execArgv(cfg, 'test "$$" -gt 0 && echo ${HOME:-x}', {
        cwd: '/srv/shop/releases/R',
        env: { SLIPWAY_RELEASE: 'R' },
        port: 8081,
      }),
      {
        argv: [
          'systemd-run',
          '--quiet',
          '--wait',
          '--collect',
          '--pipe',
          '--uid=shop',
          '--gid=shop',
          '--working-directory=/srv/shop/releases/R',
          '--property=EnvironmentFile=-/srv/shop/.slipway/env',
          '--setenv=PORT=8081',
          ...sandbox,
          '--setenv=SLIPWAY_RELEASE=R',
          '--',
          '/bin/sh',
          '-c',
          'test "$$$$" -gt 0 && echo $${HOME:-x}',
        ],
        sudo: true,
      },
    );
    // the exec runs in the unit's own sandbox: the same properties, in the same order
    assert.deepEqual(
      sandbox.map((p) => p.replace('--property=', '')),
      systemdUnit({
        app: 'shop',
        environment: 'p',
        appDir: '/srv/shop',
        user: 'shop',
        port: 1,
        run: 'x',
        stop_timeout: 1,
      })
        .split('\n')
        .filter((l) => sandbox.includes(`--property=${l}`)),
    );
    assert.ok(sandbox.includes('--property=PrivateTmp=yes') && sandbox.includes('--property=CapabilityBoundingSet='));
  });

  it('supervisor: logs and exec through the bundled daemon', () => {
    assert.deepEqual(supervisorRuntime.logsArgv(cfg, { lines: 10, follow: false }), {
      argv: ['tail', '-n', '10', '/srv/shop/.slipway/logs/app.log'],
      sudo: false,
    });
    assert.throws(
      () => supervisorRuntime.logsArgv(cfg, { lines: 10, follow: false, since: '1 hour ago' }),
      /--since needs timestamps/,
    );
    assert.deepEqual(supervisorRuntime.execArgv(cfg, 'ls', { cwd: '/srv/shop/current', env: { A: 'b c' } }), {
      argv: [
        'node',
        '/srv/shop/.slipway/bin/supervisor.cjs',
        'exec',
        '/srv/shop',
        '/srv/shop/current',
        'A=b c',
        '--',
        'ls',
      ],
      sudo: false,
    });
    assert.deepEqual(supervisorRuntime.execArgv(cfg, 'ls', { cwd: '/srv/shop/current', port: 3001 }).argv.slice(-3), [
      'PORT=3001',
      '--',
      'ls',
    ]);
  });

  it('env file: written with escapes, read back identically by the supervisor', () => {
    const vars = { A: 'plain', B: 'with "quotes" and \\ and $HOME and `cmd`', C: '' };
    const text = envFileContent(vars);
    assert.equal(text, 'A="plain"\nB="with \\"quotes\\" and \\\\ and \\$HOME and \\`cmd\\`"\nC=""\n');
    assert.deepEqual(parseEnvFile(text), vars);
    assert.throws(() => envFileContent({ K: 'two\nlines' }), /K: values cannot contain line breaks/);
  });

  it('parseKeys reads known_hosts and ssh-keyscan lines, hashed or not', () => {
    assert.deepEqual(
      parseKeys('|1|abc=|def= ssh-ed25519 AAAAkey1\n# comment\n[127.0.0.1]:22 ecdsa-sha2-nistp256 AAAAkey2 root@h\n'),
      ['ssh-ed25519 AAAAkey1', 'ecdsa-sha2-nistp256 AAAAkey2'],
    );
  });
});

describe('a failed host command', () => {
  it("says the command's own cause first (what history keeps), the output and a short command after", () => {
    const script = 'set -eu\ncd "$1"\nnpm ci --omit=dev';
    const e = new CommandError(
      'web1',
      ['sh', '-c', script, 'slipway', '/srv/shop'],
      127,
      '',
      'sh: 1: npm: not found\n',
    );
    assert.equal(e.message, 'web1: sh: 1: npm: not found (exit 127)');
    assert.equal(e.details, "sh: 1: npm: not found\ncommand: sh -c '<script: set -eu…>' slipway /srv/shop");
    assert.equal(new CommandError('web1', ['false'], 1, '', '').message, 'web1: no output (exit 1)');
    assert.equal(
      new CommandError('web1', ['x'], undefined, 'partial\nlast words\n', '', 'SIGKILL').message,
      'web1: last words (killed by SIGKILL)',
    );
  });
});

describe('the programs setup and plan check on a host', () => {
  const programs = (yaml: string) =>
    commandsNeeded(
      resolveEnvironment(parseConfig(`app: shop\n${yaml}environments:\n  p:\n    hosts: [h]\n`, 'slipway.yml'), 'p'),
    );

  it('takes the first word of every part of every command, skipping assignments, exec, built-ins and paths', () => {
    assert.deepEqual(
      programs(
        'run: PORT=1 NODE_ENV=x exec node server.js\n' +
          'install: { command: "npm ci --omit=dev && cd sub && yarnpkg install" }\n' +
          'hooks: { before_activate: ["./bin/migrate; python3 m.py | tee x", "test -f a || echo b"] }\n' +
          'health: { command: "curl -fsS localhost:$PORT" }\n' +
          'checks: [{ run: "psql -c 1", on: host }, { run: "npm test", on: local }]\n' +
          'verify: { duration: 5, command: "$HOME/x" }\n',
      ),
      ['node', 'npm', 'yarnpkg', 'python3', 'tee', 'psql', 'curl'],
    );
  });

  it('with install.once the host runs no install; docker and static hosts run no `run`', () => {
    assert.deepEqual(programs('run: node s.js\ninstall: { command: npm ci, once: true }\n'), ['node']);
    assert.deepEqual(programs('runtime: docker\nrun: gunicorn app:app\n'), []);
  });
});
