// The app's env file: KEY="value" lines with \ " $ ` escaped, as systemd's EnvironmentFile= and the supervisor read
// it; written by a deploy, read back by the supervisor and by the agent's own deploys (which keep its secrets).
export function envFileContent(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (/[\n\r\0]/.test(v)) throw new Error(`environment variable ${k}: values cannot contain line breaks`);
      return `${k}="${v.replace(/[\\"$`]/g, (c) => `\\${c}`)}"\n`;
    })
    .join('');
}

/** Parse the env file slipway writes (pure). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (m) env[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  }
  return env;
}
