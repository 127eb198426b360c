// Guardrails around a deploy, each configured per environment and recorded in
// the history: checks before anything changes, human approval, conditions that
// must hold before activation, and a verification window after it. (Deploy
// windows are in windows.ts.)
import os from 'node:os';
import { execa } from 'execa';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import type { Events } from './events.ts';
import { script, sh, type Layout } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import { checkLive, servingPort } from './activate.ts';
import { eachHost, withSession, type Session } from './session.ts';
import REQUEST from '../scripts/guardrails-request.sh';
import ERROR_RATE from '../scripts/guardrails-error-rate.sh';
import WAIT_FOR from '../scripts/guardrails-wait-for.sh';
import ANSWER_BODY from '../scripts/guardrails-answer.sh';

/** Run the `on: local` checks here, in the app folder; the first failure throws. Returns what passed. */
export async function runLocalChecks(cfg: ResolvedConfig, events: Events): Promise<string[]> {
  const passed: string[] = [];
  for (const check of cfg.checks.filter((c) => c.on === 'local')) {
    await events.step(`Check: ${check.run}`, async () => {
      const r = await execa('/bin/sh', ['-c', check.run], {
        cwd: cfg.dir,
        reject: false,
        all: true,
        timeout: check.timeout * 1000,
      });
      if (r.exitCode !== 0) {
        throw new SlipwayError(
          'guardrail',
          `check failed${r.timedOut ? ` (timed out after ${check.timeout}s)` : ` (exit ${r.exitCode})`}: ${check.run}`,
          {
            details: tail(String(r.all ?? '').trim(), 30) || undefined,
            hint: 'nothing was changed on any host; fix it and deploy again',
          },
        );
      }
    });
    passed.push(`check: ${check.run}`);
  }
  return passed;
}

/** Run the `on: host` checks on every host, in the app folder; the first failure throws. */
export async function runHostChecks(s: Session): Promise<string[]> {
  const passed: string[] = [];
  for (const check of s.cfg.checks.filter((c) => c.on === 'host')) {
    await s.events.step(`Check on ${s.hosts.map((h) => h.name).join(', ')}: ${check.run}`, () =>
      eachHost(s.hosts, async (h) => {
        const r = await h.run(
          [
            'timeout',
            String(check.timeout),
            'sh',
            '-c',
            'cd "$1" && sh -c "$2"',
            'slipway',
            s.layout.appDir,
            check.run,
          ],
          { reject: false },
        );
        if (r.exitCode !== 0) {
          throw new SlipwayError(
            'guardrail',
            `${h.name}: check ` +
              `failed${r.exitCode === 124 ? ` (timed out after ${check.timeout}s)` : ` (exit ${r.exitCode})`}: ` +
              `${check.run}`,
            {
              details: tail([r.stderr.trim(), r.stdout.trim()].filter(Boolean).join('\n'), 30) || undefined,
              hint: 'nothing was switched; fix it and deploy again',
            },
          );
        }
      }),
    );
    passed.push(`check on hosts: ${check.run}`);
  }
  return passed;
}

// ---- approval: a file on the environment's first host, answered from any terminal

export interface Approval {
  state: 'pending' | 'approved' | 'rejected';
  release: string;
  environment: string;
  requested_by: string;
  requested_at: string;
  by?: string;
  at?: string;
  reason?: string;
}

// $1 folder, $2 release id; the record on stdin. Old answered requests are cleared.

// $1 folder, $2 release id; the answer on stdin. Only a pending request is answered.
const NO_REQUEST = 44;
const ANSWERED = 45;
const ANSWER = script({ NO_REQUEST, ANSWERED }, ANSWER_BODY);

export function whoami(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

export async function readApproval(host: Host, l: Layout, id: string): Promise<Approval | undefined> {
  const r = await host.run(['cat', `${l.approvals}/${id}.json`], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return JSON.parse(r.stdout) as Approval;
}

/** Answer a pending approval; throws if there is none for this release or it was answered already. */
export async function answerApproval(
  host: Host,
  l: Layout,
  id: string,
  answer: 'approved' | 'rejected',
  reason?: string,
  by = whoami(),
): Promise<Approval> {
  const before = await readApproval(host, l, id);
  if (!before)
    throw new SlipwayError('guardrail', `${host.name}: no deploy of ${id} is waiting for approval`, {
      hint: 'check the release id the waiting deploy printed',
    });
  const record: Approval = {
    ...before,
    state: answer,
    by,
    at: new Date().toISOString(),
    ...(reason ? { reason } : {}),
  };
  const r = await host.run(sh(ANSWER, l.approvals, id), { input: JSON.stringify(record), reject: false });
  if (r.exitCode === ANSWERED) {
    const done = JSON.parse(r.stdout) as Approval;
    throw new SlipwayError(
      'guardrail',
      `${host.name}: the deploy of ${id} was already ${done.state} by ${done.by} at ${done.at}`,
    );
  }
  if (r.exitCode !== 0) throw new SlipwayError('guardrail', `${host.name}: no deploy of ${id} is waiting for approval`);
  return record;
}

/**
 * Ask for approval and wait for the answer (polling the first host every second) until
 * approval.timeout. Resolves with the approval; a rejection or the timeout throws.
 */
export async function awaitApproval(s: Session, id: string, onWaiting: (a: Approval) => void): Promise<Approval> {
  const host = s.hosts[0]!;
  const l = s.layout;
  const request: Approval = {
    state: 'pending',
    release: id,
    environment: s.cfg.environment,
    requested_by: whoami(),
    requested_at: new Date().toISOString(),
  };
  await host.run(sh(REQUEST, l.approvals, id), { input: JSON.stringify(request) });
  onWaiting(request);
  const timeout = s.cfg.approval.timeout;
  s.events.info(
    `Waiting for approval of ${id} in ${s.cfg.environment} (up to ${timeout}s): slipway approve ${id}   or: ` +
      `slipway reject ${id}`,
  );
  return s.events.step('Approval', async (c) => {
    const end = Date.now() + timeout * 1000;
    for (;;) {
      s.checkInterrupted();
      const a = await readApproval(host, l, id);
      if (a?.state === 'approved') {
        c.done(`approved by ${a.by}`);
        return a;
      }
      if (a?.state === 'rejected') {
        throw new SlipwayError(
          'guardrail',
          `${s.cfg.environment}: the deploy of ${id} was rejected by ${a.by}${a.reason ? `: ${a.reason}` : ''}`,
          { hint: 'nothing was switched; the previous release is serving' },
        );
      }
      if (Date.now() >= end) {
        const r = await host.run(sh(ANSWER, l.approvals, id), {
          input: JSON.stringify({
            ...request,
            state: 'rejected',
            by: 'slipway (timeout)',
            at: new Date().toISOString(),
          }),
          reject: false,
        });
        if (r.exitCode === ANSWERED) continue; // answered at the last moment: read that answer
        throw new SlipwayError('guardrail', `${s.cfg.environment}: no approval for ${id} within ${timeout}s`, {
          hint: 'nothing was switched; deploy again when someone can approve it',
        });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
}

// ---- wait_for: conditions polled on every host before activation

// $1 kind (command|http), $2 the URL (http), $3 expected status, $4 timeout, $5 interval;
// for a command, the rest: the argv that runs it as the app would (its user, env file, release)

export function describeCondition(w: ResolvedConfig['wait_for'][number]): string {
  return w.http ? `${w.http} answering ${w.status}` : `\`${w.command}\``;
}

/**
 * Poll each wait_for condition on every host of the group, in order (commands run as the app, in the new release); a
 * timeout throws.
 */
export async function waitForConditions(s: Session, group: Host[], tag: string, releaseDir: string): Promise<string[]> {
  const passed: string[] = [];
  for (const w of s.cfg.wait_for) {
    const what = describeCondition(w);
    await s.events.step(`${tag}Wait for ${what} (up to ${w.timeout}s)`, () =>
      eachHost(group, async (h) => {
        const { cfg, runtime } = s.on(h);
        const exec = w.command
          ? runtime.execArgv(cfg, w.command, { cwd: releaseDir, port: await servingPort(s, h) })
          : { argv: [], sudo: false };
        const r = await h.run(
          sh(
            WAIT_FOR,
            w.http ? 'http' : 'command',
            w.http ?? '',
            String(w.status),
            String(Math.ceil(w.timeout)),
            String(w.interval),
            ...exec.argv,
          ),
          { reject: false, sudo: exec.sudo },
        );
        if (r.exitCode !== 0) {
          throw new SlipwayError(
            'guardrail',
            `${h.name}: wait_for ${what}: ${r.stdout.trim() || `exit ${r.exitCode}`}`,
            { hint: 'nothing was switched; the previous release is serving' },
          );
        }
      }),
    );
    passed.push(`wait_for: ${what}`);
  }
  return passed;
}

// ---- verification window: after activation, keep checking

// $1 url ("" for none), $2 max

/** Keep checking the group for verify.duration seconds: health, then the command and the error rate. */
export async function verifyWindow(s: Session, group: Host[], tag: string, id: string): Promise<void> {
  const v = s.cfg.verify;
  await s.events.step(`${tag}Verify for ${v.duration}s`, async (c) => {
    const end = Date.now() + v.duration * 1000;
    // the release went live before the window: its slot, and so its port, stays put during it
    const ports = v.command
      ? new Map(await Promise.all(group.map(async (h) => [h, await servingPort(s, h)] as const)))
      : undefined;
    let rounds = 0;
    do {
      s.checkInterrupted();
      await eachHost(group, async (h) => {
        const { cfg, layout: l } = s.on(h);
        const health = await checkLive(s, h, id, { ...cfg.health, timeout: 1 });
        if (!health.ok) throw verifyFailed(h, `health check: ${health.report}`);
        if (v.command) {
          const { argv, sudo } = s.on(h).runtime.execArgv(cfg, v.command, { cwd: l.release(id), port: ports?.get(h) });
          const r = await h.run(argv, { reject: false, sudo });
          if (r.exitCode !== 0)
            throw verifyFailed(
              h,
              `\`${v.command}\` exited ${r.exitCode}: ${tail(r.stdout.trim() || r.stderr.trim(), 5)}`,
            );
        }
        if (v.error_rate) {
          const r = await h.run(sh(ERROR_RATE, v.error_rate.url, String(v.error_rate.max)), { reject: false });
          if (r.exitCode !== 0) throw verifyFailed(h, r.stdout.trim());
        }
      });
      rounds++;
      if (Date.now() < end)
        await new Promise((r) => setTimeout(r, Math.min(v.interval * 1000, Math.max(0, end - Date.now()))));
    } while (Date.now() < end);
    c.done(`${rounds} round(s) passed`);
  });
}

/** Marks a failure of the verification window: the release is restored away from and marked bad. */
export class VerificationError extends SlipwayError {}

function verifyFailed(h: Host, why: string): VerificationError {
  return new VerificationError('health', `${h.name}: verification failed: ${why}`, {
    hint: 'the previous release was restored and this one marked bad (slipway releases <env> shows it)',
  });
}

/** `slipway approve|reject ID`: answer the waiting deploy in the first of `envs` that has one. */
export async function answer(
  envs: ResolvedConfig[],
  events: Events,
  id: string,
  state: 'approved' | 'rejected',
  reason?: string,
): Promise<Approval> {
  for (const cfg of envs) {
    const found = await withSession(
      cfg,
      events,
      async (s) => {
        const host = s.hosts[0]!;
        if (envs.length > 1 && !(await readApproval(host, s.layout, id))) return undefined;
        return answerApproval(host, s.layout, id, state, reason);
      },
      { connectStep: false },
    );
    if (found) return found;
  }
  throw new SlipwayError(
    'guardrail',
    `no deploy of ${id} is waiting for approval in ${envs.map((e) => e.environment).join(', ')}`,
    { hint: 'check the release id the waiting deploy printed, or pass --env' },
  );
}
