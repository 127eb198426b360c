// Signed artifacts: each environment has its own ed25519 deploy key. CI signs what it publishes with the private
// key ($SLIPWAY_SIGNING_KEY_<ENV>, or ~/.config/slipway/keys/<app>/<env>.signing); the public key is written in
// slipway.yml (`pull.public_key`) and travels with the deployed config to the hosts, whose agent deploys only an
// artifact signed for its own app and environment: a staging key cannot sign for production, and a signature made
// for staging does not verify in production even where one key serves both.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlipwayError } from '../errors.ts';

export const PUBLIC_KEY = /^ed25519:[A-Za-z0-9_-]{43}$/;

/** What a signature vouches for (pure): one line per fact, so no value can pass for another. */
export interface Signed {
  app: string;
  environment: string;
  release: string;
  sha256: string;
  built_at: string;
}

export function signedMessage(s: Signed): Buffer {
  return Buffer.from(
    `slipway artifact v1\napp ${s.app}\nenvironment ${s.environment}\nrelease ${s.release}\n` +
      `sha256 ${s.sha256}\nbuilt_at ${s.built_at}\n`,
  );
}

export function signingKeyPaths(cfg: { app: string; environment: string }): { file: string; variable: string } {
  const configHome = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return {
    file: path.join(configHome, 'slipway', 'keys', cfg.app, `${cfg.environment}.signing`),
    variable: `SLIPWAY_SIGNING_KEY_${cfg.environment.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`,
  };
}

/** `ed25519:<base64url of the 32 raw bytes>`: one line for slipway.yml. */
export function publicKeyText(key: KeyObject): string {
  return `ed25519:${createPublicKey(key).export({ format: 'jwk' }).x}`;
}

function publicKeyOf(text: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text.slice('ed25519:'.length) }, format: 'jwk' });
}

/** Make the environment's key pair; the private key is written 0600 and never replaced. */
export function createSigningKey(cfg: { app: string; environment: string }): { file: string; publicKey: string } {
  const { file } = signingKeyPaths(cfg);
  if (existsSync(file))
    throw new SlipwayError('config', `${file}: the ${cfg.environment} signing key exists already`, {
      hint: `slipway keys show ${cfg.environment} prints its public key; remove the file first to make a new one`,
    });
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { file, publicKey: publicKeyText(privateKey) };
}

/** The environment's private key: from $SLIPWAY_SIGNING_KEY_<ENV> (its PEM text, for CI), else its file. */
export function readSigningKey(cfg: { app: string; environment: string }): KeyObject {
  const p = signingKeyPaths(cfg);
  const fromVar = process.env[p.variable]?.trim();
  let text: string;
  try {
    text = fromVar || readFileSync(p.file, 'utf8');
  } catch {
    throw new SlipwayError('config', `no ${cfg.environment} signing key: neither $${p.variable} nor ${p.file}`, {
      hint: `slipway keys init ${cfg.environment} makes one (then put its public key in slipway.yml)`,
    });
  }
  try {
    const key = createPrivateKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch {
    throw new SlipwayError('config', `${fromVar ? `$${p.variable}` : p.file}: not an ed25519 private key (PEM)`, {
      hint: `the key written by slipway keys init ${cfg.environment}`,
    });
  }
}

export function signArtifact(key: KeyObject, s: Signed): string {
  return sign(null, signedMessage(s), key).toString('base64');
}

/** true only for a signature by `publicKey` over exactly these facts (pure). */
export function verifyArtifact(publicKey: string, s: Signed, signature: string): boolean {
  if (!PUBLIC_KEY.test(publicKey) || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  try {
    return verify(null, signedMessage(s), publicKeyOf(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
