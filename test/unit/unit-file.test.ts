import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { execIfSimple } from '../../src/runtime/exec-form.ts';
import { systemdQuote, systemdUnit, unitName } from '../../src/runtime/systemd.ts';

const input = {
  app: 'shop',
  environment: 'production',
  appDir: '/srv/shop',
  user: 'shop',
  port: 8080,
  run: 'node server.js --title "my shop" 100%',
  stop_timeout: 10,
};

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('systemd unit', () => {
  it("a single command is exec'd (the app is the main process); shell constructs stay as written", () => {
    assert.equal(execIfSimple('node server.js --port 3000'), 'exec node server.js --port 3000');
    assert.equal(execIfSimple('exec node server.js'), 'exec node server.js');
    // parameters expand in the exec'd command: a gunicorn on $PORT is the main process, not /bin/sh
    assert.equal(
      execIfSimple('.venv/bin/python -m gunicorn --bind 127.0.0.1:$PORT app:app'),
      'exec .venv/bin/python -m gunicorn --bind 127.0.0.1:$PORT app:app',
    );
    assert.equal(execIfSimple('node ${APP:-server.js}'), 'exec node ${APP:-server.js}');
    // leading assignments stay in front, where the shell applies them to the exec'd command
    assert.equal(execIfSimple('NODE_ENV=production node s.js'), 'NODE_ENV=production exec node s.js');
    assert.equal(execIfSimple(`A="x y" B='$z' ./app "--name=é"`), `A="x y" B='$z' exec ./app "--name=é"`);
    assert.equal(execIfSimple('A=1'), 'A=1');
    for (const run of [
      'npm run migrate && node server.js',
      'node a.js | tee log',
      'node $(cat args)',
      'node `cat args`',
      'node \\x.js',
      'cd web; node s.js',
      'node s.js > out',
    ])
      assert.equal(execIfSimple(run), run);
  });

  it('runs the app as its user from current, with the env file, restart on failure and hardening', () => {
    const unit = systemdUnit(input);
    assert.equal(unitName('shop'), 'slipway-shop.service');
    for (const line of [
      'User=shop',
      'Group=shop',
      'WorkingDirectory=/srv/shop/current',
      'EnvironmentFile=-/srv/shop/.slipway/env',
      'Environment=PORT=8080',
      'ExecStart=/bin/sh -c "exec node server.js --title \\"my shop\\" 100%%"',
      'Restart=on-failure',
      'TimeoutStopSec=10',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/srv/shop/shared',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'WantedBy=multi-user.target',
    ]) {
      assert.ok(unit.split('\n').includes(line), `missing line: ${line}`);
    }
  });

  it('systemdQuote keeps the command exactly as sh will see it', () => {
    assert.equal(systemdQuote('echo $HOME "a\\b" 5%'), '"echo $$HOME \\"a\\\\b\\" 5%%"');
  });

  it('passes systemd-analyze verify', {
    skip: hasSystemdAnalyze() ? false : 'systemd-analyze is not installed',
  }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-unit-'));
    try {
      const file = path.join(dir, 'slipway-shop.service');
      // verify resolves User= against this machine's users: use one that exists here
      writeFileSync(file, systemdUnit({ ...input, user: 'root' }));
      const out = execFileSync('systemd-analyze', ['verify', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(out.trim(), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
