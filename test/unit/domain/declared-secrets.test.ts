import { generateSecretValue, missingRequired, parseDeclaredSecrets } from '../../../src/domain/declared-secrets.ts';

describe('parseDeclaredSecrets', () => {
  it('accepts generated and required secrets, defaulting the charset', () => {
    const r = parseDeclaredSecrets([
      { name: 'redisPassword', generate: { length: 32 } },
      { name: 'apiKey', required: true, description: 'vendor key' },
    ]);
    expect(r).toEqual({
      ok: true,
      secrets: [
        { name: 'redisPassword', generate: { length: 32, charset: 'alphanumeric' } },
        { name: 'apiKey', required: true, description: 'vendor key' },
      ],
    });
  });

  it.each([
    [[{ name: 'a/b', required: true }], 'secrets[0].name'],
    [[{ name: 'p', generate: { length: 8 } }], 'secrets[0].generate.length'],
    [[{ name: 'p', generate: { length: 32, charset: 'emoji' } }], 'secrets[0].generate.charset'],
    [[{ name: 'p', required: true, generate: { length: 32 } }], 'secrets[0]'],
    [[{ name: 'p' }], 'secrets[0]'],
    [[{ name: 'p', required: true }, { name: 'p', required: true }], 'secrets[1].name'],
    [[{ name: 'p', required: true, value: 'inline' }], 'secrets[0].value'],
    [{ name: 'p' }, 'secrets'],
  ])('refuses %j naming %s', (input, field) => {
    const r = parseDeclaredSecrets(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe(field);
  });
});

describe('generateSecretValue', () => {
  it('has the declared length and charset, and differs between calls', () => {
    const a = generateSecretValue({ length: 40, charset: 'hex' });
    const b = generateSecretValue({ length: 40, charset: 'hex' });
    expect(a).toMatch(/^[0-9a-f]{40}$/);
    expect(a).not.toBe(b);
    expect(generateSecretValue({ length: 16, charset: 'base64url' })).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});

describe('missingRequired', () => {
  it('names required secrets without a value, ignoring generated ones', () => {
    const declared = [
      { name: 'gen', generate: { length: 16, charset: 'hex' as const } },
      { name: 'a', required: true as const },
      { name: 'b', required: true as const },
    ];
    expect(missingRequired(declared, new Set(['a']))).toEqual(['b']);
    expect(missingRequired(declared, new Set(['a', 'b']))).toEqual([]);
  });
});
