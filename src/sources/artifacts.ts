// The artifact source: a channel (./channel.ts) in a folder on the host or served over http(s). Reading it costs
// one small request; an artifact is fetched only when it is to be deployed, into a root-only folder, and checked
// there against the digest its signature vouches for before anything else reads it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../errors.ts';
import { type Channel, type ChannelEntry, INDEX, parseChannel } from './channel.ts';

/** an index is a list of a few entries: anything bigger is not one */
export const MAX_INDEX_BYTES = 1 << 20;
export const MAX_ARTIFACT_BYTES = 4 * 1024 ** 3;
const TIMEOUT_MS = 15_000;

const isUrl = (source: string) => /^https?:\/\//.test(source);

/** `name` inside the channel (pure): a URL relative to the folder URL, or a path in the folder. */
export function channelLocation(source: string, name: string): string {
  if (isUrl(source)) return new URL(name, source.endsWith('/') ? source : `${source}/`).href;
  return path.posix.join(source, name);
}

export async function readChannel(source: string, app: string): Promise<{ channel: Channel; problems: string[] }> {
  const where = channelLocation(source, INDEX);
  const text = isUrl(source) ? await fetchText(where) : readIndexFile(where);
  return parseChannel(text, where, app);
}

function readIndexFile(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new SlipwayError('config', `${file}: not found → publish a release there: slipway build --output DIR/`);
  }
  if (size > MAX_INDEX_BYTES) throw new SlipwayError('config', `${file}: larger than ${MAX_INDEX_BYTES} bytes`);
  return readFileSync(file, 'utf8');
}

async function fetchText(url: string): Promise<string> {
  const r = await get(url);
  const body = Buffer.concat(await collect(r, MAX_INDEX_BYTES, url));
  return body.toString('utf8');
}

async function get(url: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    throw new SlipwayError('connection', `${url}: ${(e as Error).cause ?? (e as Error).message}`);
  }
  if (!r.ok || !r.body) throw new SlipwayError('connection', `${url}: HTTP ${r.status}`);
  return r;
}

async function collect(r: Response, max: number, url: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) {
    size += c.length;
    if (size > max) throw new SlipwayError('connection', `${url}: larger than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return chunks;
}

/**
 * Copy the entry's artifact into `dir` and check its bytes against the entry's sha256; FILE.sha256 is written
 * beside it (as `slipway build --output` does) only once they match. Returns the file.
 */
export async function fetchArtifact(source: string, entry: ChannelEntry, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, entry.file);
  rmSync(`${file}.sha256`, { force: true });
  const from = channelLocation(source, entry.file);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > MAX_ARTIFACT_BYTES) return done(new SlipwayError('config', `${from}: larger than 4 GiB`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const input = isUrl(source)
    ? Readable.fromWeb((await get(from)).body as Parameters<typeof Readable.fromWeb>[0])
    : createReadStream(from);
  try {
    await pipeline(input, count, createWriteStream(file, { mode: 0o600 }));
  } catch (e) {
    rmSync(file, { force: true });
    if (e instanceof SlipwayError) throw e;
    throw new SlipwayError('connection', `${from}: ${(e as Error).message}`);
  }
  const actual = hash.digest('hex');
  if (actual !== entry.sha256) {
    rmSync(file, { force: true });
    throw new SlipwayError(
      'config',
      `${from}: checksum mismatch (the index and its signature say ${entry.sha256}, the file is ${actual}); ` +
        'the artifact was changed after it was signed',
    );
  }
  writeFileSync(`${file}.sha256`, `${actual}  ${entry.file}\n`);
  return file;
}
