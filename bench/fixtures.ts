// Benchmark apps, generated: a small Node.js HTTP server plus a vendored,
// node_modules-like tree of JavaScript files (deterministic pseudo-random text
// that compresses like real code), committed to a git repository.
//   small:  ~50 files,     ~0.2 MB
//   medium: ~5,000 files,  ~50 MB
//   large:  ~50,000 files, ~500 MB
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type Size = 'small' | 'medium' | 'large';

export const SIZES: Record<Size, { files: number; bytes: number }> = {
  small: { files: 50, bytes: 200_000 },
  medium: { files: 5_000, bytes: 50_000_000 },
  large: { files: 50_000, bytes: 500_000_000 },
};

const WORDS =
  'const let function return if else for while await async import export from require module exports this new ' +
  'class extends super null undefined true false typeof instanceof value result options config callback error ' +
  'data buffer stream request response handler index length push map filter reduce Object Array String ' +
  'Number Promise JSON parse stringify resolve reject then catch'.split(' ');

/** xorshift32: the same bytes on every run */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function code(rand: () => number, bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line =
      `  ${WORDS[Math.floor(rand() * WORDS.length)]} ` +
      `${WORDS[Math.floor(rand() * WORDS.length)]}_${Math.floor(rand() * 10000)} = ` +
      `${WORDS[Math.floor(rand() * WORDS.length)]}(${Math.floor(rand() * 1e6)});\n`;
    parts.push(line);
    n += line.length;
  }
  return parts.join('');
}

export const SERVER_JS = `const http = require('node:http');
const { message } = require('./src/message.js');
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok\\n' : message + '\\n');
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** The install every tool runs on the host when the lockfile changes: derives deps/ from it. */
export const INSTALL_SH = `set -e
rm -rf deps; mkdir deps
i=0; while [ $i -lt 200 ]; do sha256sum package-lock.json > "deps/mod$i.js"; i=$((i+1)); done
`;

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', ...args], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Write the app into dir (a new git repository) and commit it. */
export function makeFixture(dir: string, size: Size): { files: number; bytes: number } {
  const spec = SIZES[size];
  const rand = prng(42);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  const write = (rel: string, content: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
    files++;
    bytes += Buffer.byteLength(content);
  };
  let files = 0;
  let bytes = 0;
  write('server.js', SERVER_JS);
  write('src/message.js', 'exports.message = "version 0";\n');
  write('package.json', '{ "name": "bench", "version": "1.0.0", "private": true }\n');
  write('package-lock.json', '{ "name": "bench", "lockfileVersion": 3, "packages": { "": { "version": "1" } } }\n');
  write('install.sh', INSTALL_SH);
  const rest = spec.files - files;
  const avg = (spec.bytes - bytes) / rest;
  for (let i = 0; i < rest; i++) {
    const pkg = `pkg-${Math.floor(i / 20)}`;
    const rel =
      size === 'small' ? `src/lib/m${i}.js` : `node_modules/${pkg}/lib/${i % 20 === 0 ? 'index' : `part${i}`}.js`;
    // sizes spread from a tenth to twice the average
    write(rel, code(rand, Math.floor(avg * (0.1 + rand() * 1.9))));
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'fixture');
  return { files, bytes };
}
