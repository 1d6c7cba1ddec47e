// The key ring for instance secrets: CAELUS_ENCRYPTION_KEYS="k2:<base64>,k1:<base64>",
// newest first. New writes use the first key; rows written under an older key
// stay readable while that key is listed, and `caelus secrets rotate`
// re-encrypts them under the newest so the old key can then be dropped.
import { ConfigError } from './errors.ts';

export const ENCRYPTION_KEYS_ENV = 'CAELUS_ENCRYPTION_KEYS';

export interface EncryptionKey {
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Parses the key ring; throws ConfigError naming the bad entry (never echoing key material). */
export function parseEncryptionKeys(raw: string | undefined, setting = ENCRYPTION_KEYS_ENV): EncryptionKey[] {
  if (!raw?.trim()) {
    throw new ConfigError(setting, 'is not set; generate a key with `openssl rand -base64 32` and set it as "k1:<key>"');
  }
  const keys: EncryptionKey[] = [];
  for (const [i, entry] of raw.split(',').entries()) {
    const trimmed = entry.trim();
    const colon = trimmed.indexOf(':');
    if (colon <= 0) throw new ConfigError(setting, `entry ${i + 1} must look like "<id>:<base64 key>"`);
    const id = trimmed.slice(0, colon);
    const material = trimmed.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new ConfigError(setting, `entry ${i + 1}: key id must match ${KEY_ID.source}`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(setting, `key id "${id}" appears twice`);
    const key = BASE64.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw new ConfigError(setting, `key "${id}" must be 32 bytes of base64 (got ${key.length} bytes)`);
    keys.push({ id, key });
  }
  return keys;
}
