// Pure parts of the data layer: key ring config, sealing, chart references, values schema.
import { randomBytes } from 'node:crypto';
import { databaseConfigFromEnv } from '../../../src/config/database.ts';
import { parseEncryptionKeys } from '../../../src/config/encryption-keys.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { encodeChartReference, parseChartReference } from '../../../src/db/chart-reference.ts';
import { SecretDecryptionError, UnknownKeyError, ValidationError } from '../../../src/db/errors.ts';
import { SecretBox } from '../../../src/db/secret-box.ts';
import { jsonPath, validateValues } from '../../../src/domain/values-schema.ts';

const b64 = () => randomBytes(32).toString('base64');

describe('CAELUS_ENCRYPTION_KEYS', () => {
  test('parses newest first', () => {
    const keys = parseEncryptionKeys(`k2:${b64()}, k1:${b64()}`);
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys.every((k) => k.key.length === 32)).toBe(true);
  });
  test.each([
    ['', /is not set/],
    ['k1', /<id>:<base64 key>/],
    [`k1:${randomBytes(16).toString('base64')}`, /must be 32 bytes/],
    [`k1:${b64()},k1:${b64()}`, /appears twice/],
    [`bad id:${b64()}`, /key id must match/],
  ])('%j is refused', (raw, message) => {
    const err = (() => {
      try {
        parseEncryptionKeys(raw);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('database config', () => {
  test('PGlite under .caelus/db without DATABASE_URL, postgres with it', () => {
    expect(databaseConfigFromEnv({})).toEqual({ kind: 'pglite', dataDir: '.caelus/db' });
    expect(databaseConfigFromEnv({ DATABASE_URL: 'postgres://u@h/db', CAELUS_DB_STATEMENT_TIMEOUT_MS: '500' })).toMatchObject({
      kind: 'postgres',
      statementTimeoutMs: 500,
    });
    expect(() => databaseConfigFromEnv({ DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    expect(() => databaseConfigFromEnv({ DATABASE_URL: 'postgres://x', CAELUS_DB_POOL_MAX: 'ten' })).toThrow(/CAELUS_DB_POOL_MAX/);
  });
});

describe('SecretBox', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };
  test('round-trips, with a fresh nonce per seal', () => {
    const box = new SecretBox([k1]);
    const a = box.seal('s3cret', 'aad');
    const b = box.seal('s3cret', 'aad');
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(box.open(a, 'aad')).toBe('s3cret');
  });
  test('wrong aad, flipped tag or wrong key material → SecretDecryptionError; unknown key id → UnknownKeyError', () => {
    const sealed = new SecretBox([k1]).seal('s3cret', 'aad');
    expect(() => new SecretBox([k1]).open(sealed, 'other')).toThrow(SecretDecryptionError);
    const tag = Buffer.from(sealed.ciphertext);
    tag[tag.length - 1] = (tag[tag.length - 1] ?? 0) ^ 0xff;
    expect(() => new SecretBox([k1]).open({ ...sealed, ciphertext: tag }, 'aad')).toThrow(SecretDecryptionError);
    expect(() => new SecretBox([{ id: 'k1', key: randomBytes(32) }]).open(sealed, 'aad')).toThrow(SecretDecryptionError);
    expect(() => new SecretBox([k2]).open(sealed, 'aad')).toThrow(UnknownKeyError);
    expect(new SecretBox([k2, k1]).open(sealed, 'aad')).toBe('s3cret');
  });
});

describe('chart references in helm_chart_path', () => {
  test.each([
    ['charts/webapp', { kind: 'local', path: 'charts/webapp' }],
    ['/srv/charts/webapp-1.0.0.tgz', { kind: 'local', path: '/srv/charts/webapp-1.0.0.tgz' }],
    ['oci://ghcr.io/acme/charts/webapp', { kind: 'oci', ref: 'oci://ghcr.io/acme/charts/webapp' }],
    ['https://charts.example.com/stable#webapp', { kind: 'repo', repoUrl: 'https://charts.example.com/stable', chart: 'webapp' }],
  ])('%s', (text, ref) => {
    expect(parseChartReference(text)).toEqual(ref);
    expect(encodeChartReference(ref as Parameters<typeof encodeChartReference>[0])).toBe(text);
  });
  test.each(['https://charts.example.com', 'ftp://x/y', '', 'oci://', 'has space'])('%j is refused', (text) => {
    expect(() => parseChartReference(text)).toThrow(ValidationError);
  });
  test('a local path that would read back as a URL cannot be stored', () => {
    expect(() => encodeChartReference({ kind: 'local', path: 'oci://x/y' })).toThrow(/unambiguously/);
  });
});

describe('values schema', () => {
  const schema = {
    type: 'object',
    required: ['image'],
    properties: {
      image: { type: 'object', properties: { tag: { type: 'string' } }, additionalProperties: false },
      ports: { type: 'array', items: { type: 'integer' } },
      'weird-key': { type: 'boolean' },
    },
  };
  test('valid values pass', () => {
    expect(validateValues(schema, { image: { tag: 'v1' }, ports: [80] })).toEqual({ ok: true });
  });
  test('each violation names its JSON path', () => {
    const r = validateValues(schema, { image: { tag: 1, extra: true }, ports: [80, 'x'], 'weird-key': 'no' });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.violations.map((v) => v.path).sort();
    expect(paths).toEqual(['$.image.extra', '$.image.tag', '$.ports[1]', '$["weird-key"]']);
    const missing = validateValues(schema, {});
    expect(missing).toEqual({ ok: false, violations: [{ path: '$.image', message: 'is required' }] });
  });
  test('jsonPath escapes what is not an identifier', () => {
    expect(jsonPath(['a', '0', 'b c', 'd"e'])).toBe('$.a[0]["b c"]["d\\"e"]');
  });
});
