import http from 'node:http';

// Steady load for zero-downtime checks: workers request the URL back to back
// (keep-alive) until stopped, counting answers by status and failures.
//
// Like browsers (RFC 9110 §9.2.2), a GET whose connection closes before any
// response arrives is retried once: Caddy closes idle keep-alive connections
// on every config change, racing a client that is reusing one. Those retries
// are counted apart; a request that fails again, or answers non-2xx, is failed.
export interface LoadResult {
  requests: number;
  failed: number;
  /** requests retried once after their connection closed before any response */
  retried: number;
  statuses: Record<number, number>;
  bodies: Set<string>;
  errors: string[];
}

/**
 * Start the load; stop() is safe to call more than once (register it with t.after so a failing test cannot leave it
 * running).
 */
export function startLoad(url: string, workers = 4): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { requests: 0, failed: 0, retried: 0, statuses: {}, bodies: new Set(), errors: [] };
  const once = () =>
    browserGet(url, () => {
      result.retried += 1;
    });
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await once();
        const body = await r.text();
        result.requests += 1;
        result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
        if (r.status !== 200) result.failed += 1;
        else result.bodies.add(body.replace(/ \(release .*\)\n$/, ''));
      } catch (e) {
        result.requests += 1;
        result.failed += 1;
        if (result.errors.length < 5) result.errors.push(String((e as Error).cause ?? e));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/**
 * A GET as a browser makes it: on a pooled keep-alive connection, retried once on a new one when that connection
 * closes before any response (Caddy closes idle ones on every config change).
 */
export async function browserGet(
  url: string,
  retried = () => {},
  timeoutMs = 10_000,
): Promise<{ status: number; text(): Promise<string> }> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = String((e as Error).cause ?? e);
    if (!/other side closed|ECONNRESET|socket hang up/.test(cause)) throw e;
    retried();
    return freshGet(url, timeoutMs);
  }
}

/** One GET on a new connection (as a browser retries), never a pooled one. */
function freshGet(url: string, timeoutMs: number): Promise<{ status: number; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: async () => body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
