// Everything commands run, in one module loaded when a command is about to run
// (see api.ts): `slipway --version` and `--help` parse none of it.
export { stringify } from 'yaml';
export { freePort } from '../transport/local.ts';
export { AGENT } from '../server/layout.ts';
export { loadConfig, resolveEnvironment } from '../config/load.ts';
export { jsonSchema } from '../config/schema.ts';
export { maintenance, restart, stop } from '../engine/control.ts';
export { servingPort } from '../engine/activate.ts';
export { deploy } from '../engine/deploy.ts';
export { prepareRelease, writeArtifact } from '../engine/prepare.ts';
export { isChannelOutput, publishArtifact } from '../engine/publish.ts';
export { createSigningKey, publicKeyText, readSigningKey, signingKeyPaths } from '../release/signing.ts';
export { prune } from '../engine/prune.ts';
export { rollback } from '../engine/rollback.ts';
export { eachHost, withSession } from '../engine/session.ts';
export { setup } from '../engine/setup.ts';
export { describeHolder, forceReleaseLock, isRunningHere, isStale, readLock } from '../server/lock.ts';
export { readState } from '../server/state.ts';
export { lagging } from '../server/desired.ts';
export { sync } from '../engine/sync.ts';
export { observe } from '../engine/observe.ts';
export {
  agentLine,
  agentBoard,
  agentLoginLink,
  agentRelay,
  agentLogsArgv,
  agentPull,
  agentSetWebhook,
  agentStatus,
  agentWebhook,
} from '../agent/ask.ts';
export { newWebhookSecret, standardSecret } from '../agent/webhooks.ts';
export { agentWanted } from '../agent/install.ts';
export { checkSecret, formatSecrets, parseSecrets, readSecrets, secretsPaths, writeSecrets } from '../secrets/store.ts';
export { answer, whoami } from '../engine/guardrails.ts';
export { markBad, promote } from '../engine/promote.ts';
export { plan, renderPlan } from '../engine/plan.ts';
export { webhookLabel } from '../engine/notify.ts';
