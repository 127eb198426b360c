// The shell command a process manager starts for `run:`.

const ASSIGNMENT = String.raw`[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|[^\s"';&|<>()\x60\\])*`;
const LEADING_ASSIGNMENTS = new RegExp(String.raw`^\s*((?:${ASSIGNMENT}\s+)*)`);
const ONLY_ASSIGNMENTS = new RegExp(String.raw`^(?:${ASSIGNMENT}\s*)+$`);

/**
 * A single command runs as `exec command` (after its leading `NAME=value` words), so the app itself is the
 * main process and gets the stop and reload signals, not a shell in front of it. `$PORT` and other
 * parameters expand as before; lists, pipelines, redirections and substitutions stay as written.
 */
export function execIfSimple(run: string): string {
  if (!/^[^;&|<>()`\\\n]+$/.test(run) || /\$\(/.test(run)) return run;
  const assignments = LEADING_ASSIGNMENTS.exec(run)?.[1] ?? '';
  const command = run.slice(run.indexOf(assignments) + assignments.length).trimStart();
  if (!command || /^exec(\s|$)/.test(command) || ONLY_ASSIGNMENTS.test(command)) return run;
  return `${assignments}exec ${command}`;
}
