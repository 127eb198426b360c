// Shipping a release: rsync of the selected files into the host's incoming
// folder, hard-linking every unchanged file from earlier releases (--link-dest),
// so only changed bytes cross the wire.
import { SlipwayError, tail } from '../errors.ts';
import type { Host } from '../transport/host.ts';
import { runProcess } from '../transport/local.ts';
import type { CommandLog } from '../transport/host.ts';

export interface RsyncPlan {
  srcDir: string;
  /** destination as rsync takes it: "host:/path/" or "/path/" */
  dest: string;
  /** remote shell for ssh hosts */
  shell?: string;
  /** earlier releases on the host to hard-link unchanged files from */
  linkDests: string[];
  compress: boolean;
}

/** The rsync argv (pure). The file list goes to stdin, NUL-separated. */
export function rsyncArgv(p: RsyncPlan): string[] {
  const argv = ['rsync', '-rlpt', '--files-from=-', '--from0', '--chmod=D0755,Fu+rw,Fgo+r,Fgo-w', '--info=progress2', '--stats', '--no-inc-recursive'];
  if (p.compress) argv.push('-z');
  if (p.shell) argv.push('-e', p.shell);
  for (const d of p.linkDests.slice(0, 20)) argv.push(`--link-dest=${d}`);
  argv.push(`${p.srcDir.replace(/\/?$/, '/')}`, p.dest.replace(/\/?$/, '/'));
  return argv;
}

export interface TransferStats {
  bytesSent: number;
  filesTransferred: number;
}

export function parseRsyncStats(out: string): TransferStats {
  const num = (label: string) => Number((new RegExp(`${label}: ([\\d,]+)`).exec(out)?.[1] ?? '0').replaceAll(',', ''));
  return { bytesSent: num('Total bytes sent'), filesTransferred: num('Number of regular files transferred') };
}

export async function transfer(
  host: Host,
  srcDir: string,
  files: string[],
  destDir: string,
  linkDests: string[],
  log: CommandLog,
  onProgress?: (percent: number) => void,
): Promise<TransferStats> {
  const t = host.rsyncTarget();
  const argv = rsyncArgv({ srcDir, dest: `${t.prefix}${destDir}`, shell: t.shell, linkDests, compress: !!t.shell });
  const r = await runProcess(host.name, argv, argv, {
    input: files.join('\0'),
    reject: false,
    onLine: (line) => {
      const m = /\s(\d{1,3})%\s/.exec(line);
      if (m && onProgress) onProgress(Number(m[1]));
    },
  }, log);
  if (r.exitCode !== 0) {
    throw new SlipwayError(r.exitCode === 255 ? 'connection' : 'failure', `${host.name}: transfer failed (rsync exit code ${r.exitCode})`, {
      details: tail(r.stderr.trim() || r.stdout.trim(), 15),
      hint: `the previous release is still serving; check the connection and the free space on the host (df -h ${destDir}), then deploy again`,
    });
  }
  return parseRsyncStats(r.stdout);
}
