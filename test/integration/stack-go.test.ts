// A Go service as the source article deploys it: a static Linux binary built here with Debian's Go,
// shipped alone to a real Debian host in its own network, behind Caddy on port 80. `slipway init` finds
// go.mod; a rebuilt binary goes as a binary delta of a few KB, not whole; a rollback; a binary that exits at
// once is rolled back with no visitor seeing it.
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit, slipway } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const ADDRESS = '10.77.63.2';
const URL = `http://${ADDRESS}/`;
const main = (message: string, start = '') => `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {${start}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "${message}") })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`;

describe('a Go service built here', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const say = (message: string, start = '') => {
    writeFiles(repo, { 'main.go': main(message, start) });
    commit(repo, message);
  };

  before(() => {
    host = bootHost('go1', 22, { address: ADDRESS, layer: SERVER_LAYER });
    repo = repoOf('hello-api', {
      'go.mod': 'module example.com/hello-api\n\ngo 1.19\n',
      'main.go': main('v1'),
      '.gitignore': 'hello-api\n',
    });
  });
  after(() => {
    host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('init writes a config that builds the binary; setup and deploy serve it through Caddy', async () => {
    const config = await initFor(repo, host);
    assert.match(config, /^build: \["CGO_ENABLED=0 GOOS=linux go build -o hello-api \."\]$/m);
    await run(repo, ['setup', 'production']);
    await deploy(repo);
    assert.equal(await page(URL), 'v1\n');
  });

  it('a rebuilt binary is sent as a delta of a few KB, not whole', async () => {
    say('v2');
    const r = await slipway(repo, ['deploy', 'production', '--json']);
    assert.equal(r.exitCode, 0, r.all);
    const result = JSON.parse(r.stdout) as { bytes_sent: number; steps: unknown[] };
    const size = statSync(path.join(repo, 'hello-api')).size;
    assert.ok(size > 3 * 1024 * 1024, `a real Go binary (${size} bytes)`);
    assert.ok(result.bytes_sent < 64 * 1024, `sent ${result.bytes_sent} bytes for a ${size}-byte binary`);
    assert.match(JSON.stringify(result.steps), /1 changed \(1 as a binary delta\)/);
    assert.equal(await page(URL), 'v2\n');
  });

  it('a rollback brings the previous binary back', async () => {
    await run(repo, ['rollback', 'production']);
    assert.equal(await page(URL), 'v1\n');
    say('v3');
    await deploy(repo);
    assert.equal(await page(URL), 'v3\n');
  });

  it('a binary that exits at once is rolled back; no visitor sees it', async () => {
    say('never', '\n\tfmt.Fprintln(os.Stderr, "missing DATABASE_URL")\n\tos.Exit(2)');
    const out = await brokenUnderLoad(repo, URL, 'v3\n');
    assert.match(out, /missing DATABASE_URL/);
  });
});
