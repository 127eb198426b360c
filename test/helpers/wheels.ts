// Wheels for a Python app's wheelhouse, made here: the hosts of the tests (like many servers) cannot reach PyPI.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAKE_WHEEL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'make-wheel.py');

/** A wheel of the given package files (path → text), with console scripts (`name=module:function`). */
export function wheelOf(out: string, name: string, version: string, files: Record<string, string>, scripts: string[]) {
  const src = mkdtempSync(path.join(os.tmpdir(), 'slipway-wheel-'));
  try {
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
      writeFileSync(path.join(src, f), text);
    }
    execFileSync('python3', [MAKE_WHEEL, out, name, version, src, ...scripts]);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/**
 * Debian's Gunicorn (python3-gunicorn, pure Python) as a wheel: the package as Debian ships it, downloaded
 * from the archive this machine installs from.
 */
export function debianGunicornWheel(out: string): void {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-deb-'));
  try {
    execFileSync('apt-get', ['download', '-qq', 'python3-gunicorn'], { cwd: tmp, stdio: 'ignore' });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))!;
    const version = /_([0-9.]+)-/.exec(deb)?.[1] ?? '0';
    execFileSync('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'x')]);
    const site = path.join(tmp, 'x/usr/lib/python3/dist-packages');
    const src = path.join(tmp, 'pkg');
    mkdirSync(src);
    execFileSync('cp', ['-r', path.join(site, 'gunicorn'), src]);
    execFileSync('python3', [MAKE_WHEEL, out, 'gunicorn', version, src, 'gunicorn=gunicorn.app.wsgiapp:run']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
