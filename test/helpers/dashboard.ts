// The dashboard of a test host's agent, asked on the host itself (its web socket, with curl): a session from a
// one-time link made through the agent's root socket, as `slipway dashboard` makes one.
import type { TestHost } from './testhost.ts';

export function hostDashboard(host: TestHost, who = 'tester') {
  const web = (...args: string[]) => host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent-web.sock', ...args);
  const link = JSON.parse(
    host.exec(
      'curl',
      '-sf',
      '-X',
      'POST',
      '--unix-socket',
      '/run/slipway-agent.sock',
      `http://agent/login-link?who=${encodeURIComponent(who)}&role=admin`,
    ),
  ) as { token: string };
  const headers = web('-o', '/dev/null', '-D', '-', `http://localhost/login?token=${link.token}`);
  const cookie = /slipway_session=([^;]+)/.exec(headers)![1]!;
  const get = (path: string) => JSON.parse(web('-H', `Cookie: slipway_session=${cookie}`, `http://localhost${path}`));
  const { csrf } = get('/api/session') as { csrf: string };
  return {
    get,
    /** an action as the page sends it: the answer's status and body */
    act(body: Record<string, string>): { status: number; body: { done?: string; error?: string } } {
      const out = web(
        '-w',
        '\n%{http_code}',
        '-X',
        'POST',
        '-H',
        `Cookie: slipway_session=${cookie}`,
        '-H',
        `X-CSRF-Token: ${csrf}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        JSON.stringify(body),
        'http://localhost/api/action',
      );
      const nl = out.lastIndexOf('\n');
      return { status: Number(out.slice(nl + 1)), body: JSON.parse(out.slice(0, nl)) };
    },
  };
}
