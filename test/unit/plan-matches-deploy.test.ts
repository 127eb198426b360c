// `slipway plan` and `slipway deploy` walk the same list of phases: for several configs, the
// phases a plan names for a host are exactly those a deploy then runs there, in the same order.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { deploy } from '../../src/engine/deploy.ts';
import { Events } from '../../src/engine/events.ts';
import { DEPLOY_PHASES } from '../../src/engine/phases/index.ts';
import { plan } from '../../src/engine/plan.ts';

const BIN = path.resolve('bin/slipway.js');
const NAMES = new Set(['lock', ...DEPLOY_PHASES.map((p) => p.name)]);

const CONFIGS: [string, string, string[]][] = [
  ['a plain app', '', ['lock', 'transfer', 'finalize', 'activate', 'record']],
  [
    'install and hooks',
    'install: { command: "echo built > built.txt", paths: [built.txt] }\n' +
      'hooks: { before_activate: ["echo before"], after_activate: ["echo after"] }\n',
    ['lock', 'transfer', 'finalize', 'install', 'before_activate', 'activate', 'after_activate', 'record'],
  ],
  [
    'host checks, wait_for and verification',
    'checks: [{ run: "true", on: host }]\nwait_for: [{ command: "true", timeout: 2 }]\n' +
      'verify: { duration: 0.2, interval: 0.1 }\n',
    ['lock', 'checks', 'transfer', 'finalize', 'wait_for', 'activate', 'verify', 'record'],
  ],
  [
    'install once, on this machine',
    'install: { command: "echo built > built.txt", paths: [built.txt], once: true }\n',
    ['lock', 'transfer', 'finalize', 'activate', 'record'],
  ],
];

describe('plan and deploy name the same phases', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) {
      execFileSync('node', [BIN, 'stop', 'demo'], { cwd: dir, stdio: 'ignore' });
      // a deploy's stager (the next deploy's hard-linked copy) may still be writing in the background
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
  });

  for (const [what, extra, expected] of CONFIGS)
    it(what, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-flow-'));
      dirs.push(dir);
      const text =
        'app: shop\nrun: exec sleep 600\nroot: .deploy\n' +
        'health: { command: "true", timeout: 3, interval: 0.1 }\n' +
        `${extra}environments:\n  demo:\n    hosts: [local]\n`;
      writeFileSync(path.join(dir, 'slipway.yml'), text);
      writeFileSync(path.join(dir, 'package-lock.json'), '{}\n');
      execFileSync('node', [BIN, 'setup', 'demo'], { cwd: dir, stdio: 'ignore' });
      const cfg = resolveEnvironment(parseConfig(text, path.join(dir, 'slipway.yml')), 'demo');

      const planned = (await plan(cfg, new Events())).hosts[0]!.phases;
      const events = new Events();
      const ran: string[] = [];
      events.subscribe((e) => {
        if (e.type === 'phase' && e.state === 'start' && NAMES.has(e.phase) && ran.at(-1) !== e.phase)
          ran.push(e.phase);
      });
      await deploy(cfg, events, { allowDirty: true, command: 'slipway deploy demo' });
      assert.deepEqual(planned, expected);
      assert.deepEqual(ran, planned);
    });
});
