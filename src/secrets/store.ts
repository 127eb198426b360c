// Secrets per environment, encrypted at rest in the repository with age:
//   secrets/<env>.age          the secrets (KEY=value lines), armored age ciphertext: commit it
//   secrets/<env>.recipients   the public key(s) it is encrypted to: commit it
// The private key (the identity) of an environment lives outside the repository:
// $SLIPWAY_AGE_KEY_<ENV> (its text, for CI) or ~/.config/slipway/keys/<app>/<env>.key
// (mode 0600). Each environment has its own key, so a staging key cannot read
// production's secrets. Decrypted values stay in memory on the deploying machine.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_NAME } from '../config/schema.ts';
import { SlipwayError } from '../errors.ts';

export interface SecretsPaths {
  file: string;
  recipients: string;
  keyFile: string;
  keyVar: string;
}

export function secretsPaths(cfg: { dir: string; app: string; environment: string }): SecretsPaths {
  const configHome = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return {
    file: path.join(cfg.dir, 'secrets', `${cfg.environment}.age`),
    recipients: path.join(cfg.dir, 'secrets', `${cfg.environment}.recipients`),
    keyFile: path.join(configHome, 'slipway', 'keys', cfg.app, `${cfg.environment}.key`),
    keyVar: `SLIPWAY_AGE_KEY_${cfg.environment.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`,
  };
}

/** KEY=value lines (pure). The value is the rest of the line, as is; # starts a comment line. */
export function parseSecrets(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    // the line itself may hold a value: the message names only its number
    if (!ENV_NAME.test(name))
      throw new SlipwayError('config', `${where}:${i + 1}: expected NAME=value (NAME: letters, digits and _)`);
    out[name] = line.slice(eq + 1);
  });
  return out;
}

export function formatSecrets(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${k}=${values[k]}\n`)
    .join('');
}

export function checkSecret(name: string, value: string): void {
  if (!ENV_NAME.test(name))
    throw new SlipwayError('config', `secret name "${name}": use letters, digits and _ (not starting with a digit)`);
  if (/[\n\r\0]/.test(value))
    throw new SlipwayError('config', `secret ${name}: a value cannot contain a line break or a NUL byte`, {
      hint: 'encode it (base64) and decode it in the app',
    });
}

/** The environment's identity: from $SLIPWAY_AGE_KEY_<ENV>, else its key file. */
function identity(p: SecretsPaths, env: string): string {
  const fromVar = process.env[p.keyVar]?.trim();
  if (fromVar) return fromVar;
  try {
    return readFileSync(p.keyFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!
      .trim();
  } catch {
    throw new SlipwayError(
      'config',
      `no key to decrypt ${path.relative(process.cwd(), p.file) || p.file}: neither $${p.keyVar} nor ` +
        `${p.keyFile} holds one`,
      {
        hint:
          `get the ${env} key from whoever set up its secrets and save it as ${p.keyFile} (chmod 600), or ` +
          `set $${p.keyVar}`,
      },
    );
  }
}

/** The environment's secrets; {} when it has no secrets file. */
export async function readSecrets(cfg: {
  dir: string;
  app: string;
  environment: string;
}): Promise<Record<string, string>> {
  const p = secretsPaths(cfg);
  if (!existsSync(p.file)) return {};
  const age = await import('age-encryption');
  const d = new age.Decrypter();
  const key = identity(p, cfg.environment);
  try {
    d.addIdentity(key);
  } catch {
    // the library's message quotes the key: name only where it came from
    throw new SlipwayError(
      'config',
      `${process.env[p.keyVar]?.trim() ? `$${p.keyVar}` : p.keyFile}: not an age secret key`,
      { hint: 'an age key is one line starting with AGE-SECRET-KEY-1 (from `slipway secrets init` or age-keygen)' },
    );
  }
  let text: string;
  try {
    text = await d.decrypt(age.armor.decode(readFileSync(p.file, 'utf8')), 'text');
  } catch (e) {
    throw new SlipwayError(
      'config',
      `${p.file}: cannot decrypt with the ${cfg.environment} key (${(e as Error).message.split(key).join('[key]')})`,
      {
        hint: `is this ${cfg.environment}'s key? Each environment has its own (${p.keyFile} or $${p.keyVar})`,
      },
    );
  }
  return parseSecrets(text, p.file);
}

/**
 * Encrypt and write the environment's secrets. The first time, a key is made:
 * the private key into the key file (0600), the public key into the recipients file.
 */
export async function writeSecrets(
  cfg: { dir: string; app: string; environment: string },
  values: Record<string, string>,
): Promise<{ createdKey?: string }> {
  const p = secretsPaths(cfg);
  const age = await import('age-encryption');
  let createdKey: string | undefined;
  if (!existsSync(p.recipients)) {
    if (existsSync(p.file))
      throw new SlipwayError('config', `${p.recipients}: missing, but ${p.file} exists`, {
        hint: `restore ${p.recipients} from version control`,
      });
    const id = process.env[p.keyVar]?.trim() || (existsSync(p.keyFile) ? identity(p, cfg.environment) : undefined);
    const key = id ?? (await age.generateX25519Identity());
    if (!id) {
      mkdirSync(path.dirname(p.keyFile), { recursive: true, mode: 0o700 });
      writeFileSync(p.keyFile, `# slipway: age key of ${cfg.app} ${cfg.environment}; never commit it\n${key}\n`, {
        mode: 0o600,
      });
      chmodSync(p.keyFile, 0o600);
      createdKey = p.keyFile;
    }
    mkdirSync(path.dirname(p.recipients), { recursive: true });
    writeFileSync(
      p.recipients,
      `# public key(s) ${cfg.environment}'s secrets are encrypted to\n${await age.identityToRecipient(key)}\n`,
    );
  }
  const e = new age.Encrypter();
  const recipients = readFileSync(p.recipients, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!recipients.length) throw new SlipwayError('config', `${p.recipients}: no recipient (age1…) listed`);
  for (const r of recipients) e.addRecipient(r);
  const armored = age.armor.encode(await e.encrypt(formatSecrets(values)));
  const tmp = `${p.file}.tmp.${process.pid}`;
  writeFileSync(tmp, armored);
  renameSync(tmp, p.file);
  return { createdKey };
}
