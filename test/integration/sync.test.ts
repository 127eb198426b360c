// Catching hosts up, on three real hosts each in its own network namespace: a host added to the environment and
// set up gets its peers' release copied from one of them; a host down during a deploy (--allow-unreachable) shows
// as unreachable, then OutOfSync, until `slipway sync` brings it the release; a host that keeps the release but
// serves another is switched to it; a host whose copy of the release was changed gets a peer's copy instead.
// No agent here (it would put hand-made changes back itself; that is agent.test.ts).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, makeApp, slipway, within } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();

const config = (sshConfig: string, hosts: string[]) => `app: hello
agent: false
run: node server.js
port: 3000
health: { path: /health, timeout: 5 }
ssh: { config_file: ${sshConfig}, persist: 0 }
environments:
  production:
    rollout: { concurrency: 3 }
    hosts: [${hosts.join(', ')}]
`;

type Row = { host: string; state: string; sync: string; reasons: string[]; desired?: string };

describe('catching hosts up with their environment', { skip }, () => {
  const hosts: TestHost[] = [];
  let app = '';
  let sshConfig = '';
  let r1 = '';
  let r2 = '';
  const run = (...args: string[]) => slipway(app, args);
  const web = (h: TestHost) => h.exec('sh', '-c', 'curl -s http://127.0.0.1:3000/ || true').trim();
  const current = (h: TestHost) => h.exec('readlink', '/srv/hello/current').trim().replace('releases/', '');
  const manifests = (h: TestHost) => h.exec('ls', '/srv/hello/.slipway/manifests').trim();
  const status = async () => {
    const r = await run('status', 'production', '--json');
    assert.equal(r.exitCode, 0, r.all);
    return JSON.parse(r.stdout) as Row[];
  };
  const s1 = () => hosts[0]!;
  const s2 = () => hosts[1]!;
  const s3 = () => hosts[2]!;

  before(async () => {
    ['sync1', 'sync2', 'sync3'].forEach((name, i) => {
      hosts.push(bootHost(name, 22, { address: `10.77.${71 + i}.2` }));
    });
    sshConfig = path.join(hosts[0]!.dir, 'all_ssh_config');
    writeFileSync(sshConfig, hosts.map((h) => readFileSync(h.sshConfig, 'utf8')).join('\n'));
    app = makeApp(config(sshConfig, ['sync1', 'sync2']));
    const setup = await run('setup', 'production');
    assert.equal(setup.exitCode, 0, setup.all);
    change(app, 'Hello v1');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    r1 = (JSON.parse(d.stdout) as { release: string }).release;
  });

  after(() => {
    for (const h of hosts) h.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('a host added and set up serves the same release and digest as its peers, copied from one of them', async () => {
    writeFileSync(path.join(app, 'slipway.yml'), config(sshConfig, ['sync1', 'sync2', 'sync3']));
    commit(app, 'a third host');
    const setup = await run('setup', 'production', '--json');
    assert.equal(setup.exitCode, 0, setup.all);
    const caught = JSON.parse(setup.stdout).caught_up as { release: string; copy: string[]; source: string };
    assert.equal(caught.release, r1);
    assert.deepEqual(caught.copy, ['sync3']);
    assert.match(caught.source, /^sync[12]$/);
    assert.match(setup.stderr, new RegExp(`Fetch ${r1} from sync[12]`));
    assert.equal(current(s3()), r1);
    assert.equal(manifests(s3()), manifests(s1()));
    assert.equal(web(s3()), `Hello v1 (release ${r1})`);
    const last = JSON.parse(s3().exec('tail', '-n', '1', '/srv/hello/.slipway/history.jsonl')) as {
      event: string;
      command: string;
    };
    assert.deepEqual([last.event, last.command], ['succeeded', 'slipway setup production --json']);
    // the hosts that had it are not touched
    assert.doesNotMatch(s1().exec('cat', '/srv/hello/.slipway/history.jsonl'), /setup production/);
    for (const row of await status()) assert.equal(row.sync, 'Synced', JSON.stringify(row));
  });

  it('a host down during a deploy: refused, unless --allow-unreachable; unreachable, OutOfSync, synced', async () => {
    s2().exec('systemctl', 'stop', 'ssh.socket', 'ssh.service');
    change(app, 'Hello v2');
    const refused = await run('deploy', 'production');
    assert.equal(refused.exitCode, 5, refused.all);
    assert.match(refused.stderr, /sync2 .*cannot reach the SSH server/);
    assert.equal(current(s1()), r1, 'nothing was deployed anywhere');

    const d = await run('deploy', 'production', '--allow-unreachable', '--json');
    assert.equal(d.exitCode, 0, d.all);
    const result = JSON.parse(d.stdout) as { release: string; hosts: string[]; unreachable: string[] };
    r2 = result.release;
    assert.deepEqual(result.hosts, ['sync1', 'sync3']);
    assert.deepEqual(result.unreachable, ['sync2']);
    assert.match(d.stderr, /sync2 is left out \(--allow-unreachable\): .*slipway sync production/);
    assert.equal(web(s1()), `Hello v2 (release ${r2})`);
    assert.equal(web(s2()), `Hello v1 (release ${r1})`);

    const down = (await status()).filter((r) => r.host === 'sync2');
    assert.deepEqual(
      down.map((r) => [r.state, r.sync]),
      [['unreachable', 'Unknown']],
    );
    assert.match(down[0]!.reasons[0]!, /cannot reach the SSH server/);

    s2().exec('systemctl', 'start', 'ssh.service');
    const back = (await status()).find((r) => r.host === 'sync2')!;
    assert.equal(back.sync, 'OutOfSync');
    assert.match(
      back.reasons[0]!,
      new RegExp(`^behind production: sync[13] was given ${r2} at .*, this host is at ${r1}`),
    );
    assert.match(back.reasons[0]!, /→ slipway sync production$/);
    const text = await run('status', 'production');
    assert.match(text.stdout, /sync2: OutOfSync: behind production/);

    const synced = await run('sync', 'production', '--json');
    assert.equal(synced.exitCode, 0, synced.all);
    const out = JSON.parse(synced.stdout) as { release: string; copy: string[]; synced: string[]; source: string };
    assert.equal(out.release, r2);
    assert.deepEqual(out.copy, ['sync2']);
    assert.deepEqual(out.synced, ['sync1', 'sync3']);
    assert.equal(current(s2()), r2);
    assert.equal(manifests(s2()), manifests(s1()));
    assert.equal(web(s2()), `Hello v2 (release ${r2})`);
    for (const row of await status()) assert.equal(row.sync, 'Synced', JSON.stringify(row));
  });

  it('a host that keeps the release but serves another is switched to it; then there is nothing to do', async () => {
    s1().exec('ln', '-sfn', `releases/${r1}`, '/srv/hello/current');
    s1().exec('systemctl', 'restart', 'slipway-hello');
    const out = await run('sync', 'production', '--json');
    assert.equal(out.exitCode, 0, out.all);
    const plan = JSON.parse(out.stdout) as { copy: string[]; activate: string[]; source?: string };
    assert.deepEqual([plan.copy, plan.activate, plan.source], [[], ['sync1'], undefined]);
    assert.doesNotMatch(out.stderr, /Fetch /);
    assert.equal(current(s1()), r2);
    assert.equal(web(s1()), `Hello v2 (release ${r2})`);

    const again = await run('sync', 'production');
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stderr, new RegExp(`Every host of production is at ${r2}`));
  });

  it("a release file changed in place: sync replaces the host's copy with a peer's, the changed one kept", async () => {
    // written through the same inode, so the staged tree that shares it is changed too
    s3().exec('sh', '-c', `echo Tampered > /srv/hello/releases/${r2}/message.txt`);
    s3().exec('systemctl', 'restart', 'slipway-hello');
    await within(10_000, () => web(s3()) === `Tampered (release ${r2})`);
    const out = await run('sync', 'production', '--json');
    assert.equal(out.exitCode, 0, out.all);
    const plan = JSON.parse(out.stdout) as { repair: string[]; synced: string[]; source: string };
    assert.deepEqual(plan.repair, ['sync3']);
    assert.deepEqual(plan.synced, ['sync1', 'sync2']);
    assert.match(plan.source, /^sync[12]$/);
    assert.match(out.stderr, new RegExp(`Check the files of ${r2} on sync1, sync2, sync3`));
    assert.match(out.stderr, /sync3: the files of .* were changed on the host: they are replaced with a peer's copy/);
    assert.equal(web(s3()), `Hello v2 (release ${r2})`);
    assert.equal(current(s3()), r2);
    const kept = s3().exec('ls', '/srv/hello/.slipway/changed').trim();
    assert.match(kept, new RegExp(`^${r2}\\.\\d{8}T\\d{6}Z$`));
    assert.equal(s3().exec('cat', `/srv/hello/.slipway/changed/${kept}/message.txt`).trim(), 'Tampered');

    // the host deploys as before, and the next sync finds nothing changed
    change(app, 'Hello v3');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    const r3 = (JSON.parse(d.stdout) as { release: string }).release;
    assert.equal(web(s3()), `Hello v3 (release ${r3})`);
    const again = await run('sync', 'production', '--json');
    assert.deepEqual((JSON.parse(again.stdout) as { repair: string[] }).repair, []);
  });
});
