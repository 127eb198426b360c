// The shape of the house, checked: which folders may import which, where process-wide
// state may live, where host paths are named, and that only runtime adapters know runtime kinds.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve('src');
const files = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(path.join(SRC, f), 'utf8') }));
const folderOf = (f: string) => f.split(path.sep)[0]!;
/** the src folders a file imports from (values and types alike) */
const importsOf = (f: { file: string; text: string }) =>
  [...f.text.matchAll(/from '(\.[^']+)'/g)].map((m) =>
    folderOf(path.relative(SRC, path.resolve(SRC, path.dirname(f.file), m[1]!))),
  );
/** a program of its own (the supervisor daemon bundled for hosts): it owns its process */
const ownProgram = (f: string) =>
  /^(runtime\/supervisor-(daemon|entry)|agent\/entry)\.ts$/.test(f.split(path.sep).join('/'));

describe('architecture', () => {
  const rules: [string, string[]][] = [
    ['engine', ['cli']],
    ['runtime', ['engine', 'cli']],
    ['proxy', ['runtime', 'engine', 'cli']],
    ['server', ['engine', 'cli', 'runtime']],
    ['transport', ['engine', 'cli', 'runtime', 'proxy']],
    ['release', ['engine', 'cli']],
    ['config', ['engine', 'cli']],
    // the dashboard talks to the agent's board only (src/web/board.ts)
    ['web', ['engine', 'cli', 'runtime', 'transport', 'proxy', 'config', 'release', 'sources', 'server', 'agent']],
  ];
  for (const [folder, never] of rules)
    it(`${folder}/ imports nothing from ${never.join(', ')}`, () => {
      const bad = files
        .filter((f) => folderOf(f.file) === folder)
        .flatMap((f) =>
          importsOf(f)
            .filter((d) => never.includes(d))
            .map((d) => `${f.file} → ${d}/`),
        );
      assert.deepEqual(bad, []);
    });

  it('no signal handlers or process.exit outside the CLI (cancellation is an AbortSignal)', () => {
    const bad = files
      .filter((f) => folderOf(f.file) !== 'cli' && !ownProgram(f.file))
      .filter((f) => /process\.(exit|on|once|off)\(/.test(f.text))
      .map((f) => f.file);
    assert.deepEqual(bad, []);
  });

  it('the .slipway/ paths are named in server/layout.ts only', () => {
    const bad = files
      .filter((f) => f.file !== path.join('server', 'layout.ts'))
      .filter((f) => /['"`/]\.slipway\/[a-z]/.test(f.text.replace(/^\s*(\/\/|\*).*$/gm, '')))
      .map((f) => f.file);
    assert.deepEqual(bad, []);
  });

  it('the proxy knows upstream ports, not slots or runtimes', () => {
    const bad = files
      .filter((f) => folderOf(f.file) === 'proxy')
      .filter((f) => /\bslots?\b|\bruntime\b/i.test(f.text))
      .map((f) => f.file);
    assert.deepEqual(bad, []);
  });

  it('only runtime adapters branch on the runtime kind', () => {
    const kind =
      /\b(runtime|kind)\s*[!=]==\s*'(systemd|supervisor|docker|static)'|'(systemd|supervisor|docker|static)'\s*[!=]==/;
    const bad = files
      .filter((f) => folderOf(f.file) !== 'runtime')
      .flatMap((f) =>
        f.text
          .split('\n')
          .map((line, i) => [line, i] as const)
          .filter(([line]) => kind.test(line))
          .map(([, i]) => `${f.file}:${i + 1}`),
      );
    assert.deepEqual(bad, []);
  });
});
