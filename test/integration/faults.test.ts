// The fault matrix: {connection dropped, CLI killed with SIGKILL, disk full, the new release unhealthy} ×
// {lock, transfer, finalize, install, hooks, switch, verify}, on a real systemd host and on a blue/green one
// behind Caddy. A shim in front of ssh (test/helpers/fault-ssh) holds the deploy at the first command of the
// phase; the fault is injected there for real (sshd sessions killed on the host, the CLI's process group
// killed, the app's filesystem filled, the new release made to fail its checks), then the deploy goes on.
// After each: what serves is the previous release (or, only when the deploy had already switched and
// passed its health check, the new one), `current` agrees, the lock is free or reported STALE, the history
// is whole, and the next deploy succeeds.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { change, CLI, makeApp, slipway } from '../helpers/env.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const SHIM = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/fault-ssh');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fault = 'connection dropped' | 'SIGKILL' | 'disk full' | 'unhealthy';
// connection dropped: every SSH session to the host ends and none gets in again until the next deploy
const FAULTS: Fault[] = ['connection dropped', 'SIGKILL', 'disk full', 'unhealthy'];
const PHASES = ['lock', 'transfer', 'finalize', 'install', 'hooks', 'switch', 'verify'] as const;
type Phase = (typeof PHASES)[number];
// the new release can only fail a check where checks run
const UNHEALTHY_AT: Phase[] = ['switch', 'verify'];

// text found only in the first command of each phase (the scripts' own words, or markers in the config)
const SINGLE: Record<Phase, string> = {
  lock: 'could not write the lock',
  transfer: 'leftovers of interrupted deploys',
  finalize: 'does not exist: create it on the host',
  install: 'install: reused cache',
  hooks: 'fault-marker-hook',
  switch: 'ln -sfn',
  verify: 'fault-marker-verify',
};
// behind Caddy the switch is the upstream's PATCH through the admin API
const MARKERS: Record<'single' | 'bluegreen', Record<Phase, string>> = {
  single: SINGLE,
  bluegreen: { ...SINGLE, switch: 'PATCH' },
};

const ROOT = '/srv/flt';
const APP_DIR = `${ROOT}/shop`;

function config(sshConfig: string, host: string, bluegreen: boolean): string {
  return `app: shop
agent: false
run: node server.js
port: 3000
root: ${ROOT}
health:
  command: test ! -f UNHEALTHY && curl -fsS http://127.0.0.1:$PORT/health
  timeout: 2
  interval: 0.2
install: { command: echo built > built.txt, paths: [built.txt] }
hooks: { before_activate: ["echo fault-marker-hook"] }
verify: { duration: 1, interval: 0.3, command: "test ! -f UNHEALTHY # fault-marker-verify" }
keep_releases: 3
ssh: { config_file: ${sshConfig}, persist: 0 }
${bluegreen ? 'proxy: { port: 8080, drain_timeout: 1 }\n' : ''}environments:
  production:
    hosts: [${host}]
`;
}

for (const [kind, name, address] of [
  ['single', 'flt1', '10.77.31.2'],
  ['bluegreen', 'flt2', '10.77.32.2'],
] as const) {
  describe(`the fault matrix (${kind === 'single' ? 'systemd' : 'systemd, blue/green behind Caddy'})`, { skip }, () => {
    let host: TestHost;
    let app: string;
    let faultDir: string;
    const table = new Map<string, string>();
    const serving = () => {
      const body = host.exec('sh', '-c', `curl -s http://127.0.0.1:${kind === 'single' ? 3000 : 8080}/ || true`);
      return /\(release (\S+)\)/.exec(body)?.[1] ?? `nothing (${body.trim() || 'no answer'})`;
    };
    const live = async () => {
      const r = await slipway(app, ['status', 'production', '--json']);
      const rows = JSON.parse(r.stdout) as { live?: boolean; slot?: string; release?: string }[];
      return (kind === 'single' ? rows[0] : rows.find((x) => x.live))?.release;
    };
    const newest = () => host.exec('sh', '-c', `ls -1 ${APP_DIR}/releases | tail -n 1`).trim();

    before(async () => {
      host = bootHost(name, 22, { address, layer: SERVER_LAYER });
      faultDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-faults-'));
      // the app's own small filesystem, so that "disk full" fills only it
      host.exec('sh', '-c', `mkdir -p ${ROOT} && mount -t tmpfs -o size=48m tmpfs ${ROOT}`);
      app = makeApp(config(host.sshConfig, name, kind === 'bluegreen'));
      const s = await slipway(app, ['setup', 'production']);
      assert.equal(s.exitCode, 0, s.all);
      change(app, 'first');
      const d = await slipway(app, ['deploy', 'production']);
      assert.equal(d.exitCode, 0, d.all);
    });
    after(() => {
      if (table.size) console.log(renderTable(kind, table));
      host?.down();
      if (app) rmSync(app, { recursive: true, force: true });
      if (faultDir) rmSync(faultDir, { recursive: true, force: true });
    });

    /** Run a deploy held at the phase's first command; inject the fault there; return its exit code. */
    async function deployWithFault(fault: Fault, phase: Phase): Promise<{ code: number | null; out: string }> {
      rmSync(path.join(faultDir, 'paused'), { force: true });
      rmSync(path.join(faultDir, 'go'), { force: true });
      const bin = path.join(faultDir, 'bin');
      if (!existsSync(bin)) {
        mkdirSync(bin);
        writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\nexec ${SHIM} "$@"\n`, { mode: 0o755 });
      }
      const child = spawn('node', [CLI, 'deploy', 'production'], {
        cwd: app,
        detached: true,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          FAULT_MATCH: MARKERS[kind][phase],
          FAULT_DIR: faultDir,
        },
      });
      let out = '';
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let reached = false;
      for (let i = 0; i < 1500 && !reached; i++) {
        reached = existsSync(path.join(faultDir, 'paused'));
        if (!reached) await sleep(20);
      }
      assert.ok(reached, `the deploy never reached the ${phase} phase:\n${out}`);
      if (fault === 'SIGKILL') {
        process.kill(-child.pid!, 'SIGKILL'); // the whole process group: nothing can clean up
      } else {
        inject(fault);
        writeFileSync(path.join(faultDir, 'go'), '');
      }
      return { code: await exited, out };
    }

    function inject(fault: Fault): void {
      // every session ends (the master's too) and no new one gets in until the test starts sshd again
      if (fault === 'connection dropped') host.exec('sh', '-c', "systemctl stop ssh && pkill -f '^sshd: root'");
      if (fault === 'disk full') host.exec('sh', '-c', `dd if=/dev/zero of=${ROOT}/fill bs=1M 2>/dev/null || true`);
      // the new release is finalized by now (switch and verify come after it): it fails its checks from here on
      if (fault === 'unhealthy') host.exec('touch', `${APP_DIR}/releases/${newest()}/UNHEALTHY`);
    }

    for (const fault of FAULTS) {
      for (const phase of PHASES) {
        if (fault === 'unhealthy' && !UNHEALTHY_AT.includes(phase)) continue;
        it(`${fault} at ${phase}`, async () => {
          const before = serving();
          assert.match(before, /^\d{8}T/, 'a release serves before the fault');
          change(app, `${fault} at ${phase}`);
          const { code, out } = await deployWithFault(fault, phase);
          host.exec('rm', '-f', `${ROOT}/fill`);
          host.exec('systemctl', 'start', 'ssh');
          const now = serving();
          const id = newest();
          let outcome: string;
          if (code === 0) {
            assert.equal(now, id, out);
            outcome = 'deploy went through';
          } else if (now === before) {
            outcome = 'previous serves';
          } else {
            // only a CLI that died or lost the host can leave the new release: switched, and healthy, before
            assert.ok(fault === 'SIGKILL' || fault === 'connection dropped', `exit ${code}: ${now} serves\n${out}`);
            assert.equal(now, id);
            assert.ok(PHASES.indexOf(phase) >= PHASES.indexOf('verify'), `${phase}: ${out}`);
            outcome = 'new serves (switched, healthy)';
          }
          assert.equal(await live(), now, 'current (the live slot) is what serves');
          const lock = (await slipway(app, ['lock', 'status', 'production'])).stdout;
          // a CLI that died, or lost the host, could not remove its lock: its holder is gone, so it is STALE
          if (fault === 'SIGKILL' || fault === 'connection dropped')
            assert.match(lock, /unlocked|STALE: that process is gone/, lock);
          else assert.match(lock, /unlocked/, `${lock}\n${out}`);
          const stale = /STALE/.test(lock);
          for (const line of host.exec('cat', `${APP_DIR}/.slipway/history.jsonl`).trim().split('\n'))
            assert.doesNotThrow(() => JSON.parse(line), `a history line is cut: ${line}`);

          change(app, `after ${fault} at ${phase}`);
          const next = await slipway(app, ['deploy', 'production', '--json']);
          assert.equal(next.exitCode, 0, next.all);
          assert.equal(serving(), JSON.parse(next.stdout).release);
          table.set(`${fault}|${phase}`, `${outcome}${stale ? ', lock STALE' : ''}; next ok`);
        });
      }
    }
  });
}

function renderTable(kind: string, table: Map<string, string>): string {
  const rows = FAULTS.map(
    (f) =>
      `| ${f} | ${PHASES.map((p) => table.get(`${f}|${p}`) ?? (f === 'unhealthy' ? '—' : 'not run')).join(' | ')} |`,
  );
  return [`\nfault matrix (${kind}):`, `| fault | ${PHASES.join(' | ')} |`, `|${' --- |'.repeat(8)}`, ...rows].join(
    '\n',
  );
}
