// Pure pieces of the API: namespace naming, cursors,
// JSON path → pointer, ajv errors → field pointers, configuration.
import { Ajv } from 'ajv';
import { apiConfig } from '../../../src/config/api.ts';
import { decodeCursor, encodeCursor } from '../../../src/api/cursor.ts';
import { generateNamespace } from '../../../src/domain/naming.ts';
import { ApiProblem } from '../../../src/api/problems.ts';
import { fieldErrors, jsonPathToPointer } from '../../../src/api/validation.ts';

test('generated namespaces are DNS labels of at most 53 characters starting with the user id', () => {
  const dns = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/;
  expect(generateNamespace('alice', () => 'abcd1234')).toBe('alice-abcd1234');
  expect(generateNamespace('Alice.Smith@Example.COM', () => 'abcd1234')).toBe('alice-smith-example-com-abcd1234');
  for (const user of ['x'.repeat(300), '---', '', 'ÜBER user', '名前', 'a-', 'a'.repeat(44) + '-b']) {
    const ns = generateNamespace(user);
    expect(ns).toMatch(dns);
    expect(ns.length).toBeLessThanOrEqual(53);
  }
  expect(generateNamespace('alice')).not.toBe(generateNamespace('alice'));
});

test('cursors round-trip and tampered ones are a 400 naming /query/cursor', () => {
  const p = { value: '2026-05-01 10:00:00.123456+00', id: '0b8f6a9e-34f5-4d7e-9f59-7d1c1d3c2b1a' };
  expect(decodeCursor(encodeCursor('-createdAt', p), '-createdAt', 'createdAt')).toEqual(p);
  const byNamespace = { value: 'alice-1a2b', id: p.id };
  expect(decodeCursor(encodeCursor('namespace', byNamespace), 'namespace', 'namespace')).toEqual(byNamespace);
  const cursors: Array<[string, string]> = [
    ['', '-createdAt'],
    ['xyz', '-createdAt'],
    [Buffer.from('[1,2]').toString('base64url'), '-createdAt'],
    [Buffer.from('["-createdAt", "2026-05-01", "nope"]').toString('base64url'), '-createdAt'],
    [Buffer.from('["-createdAt", "now()", "0b8f6a9e-34f5-4d7e-9f59-7d1c1d3c2b1a"]').toString('base64url'), '-createdAt'],
    // A namespace value that is no namespace, and a cursor of another order.
    [Buffer.from('["namespace", "x\' or 1=1", "0b8f6a9e-34f5-4d7e-9f59-7d1c1d3c2b1a"]').toString('base64url'), 'namespace'],
    [encodeCursor('createdAt', p), '-createdAt'],
  ];
  for (const [bad, sort] of cursors) {
    try {
      decodeCursor(bad, sort, sort.replace('-', '') as 'createdAt' | 'namespace');
      throw new Error(`accepted ${bad}`);
    } catch (err) {
      expect(err).toBeInstanceOf(ApiProblem);
      expect((err as ApiProblem).status).toBe(400);
      expect((err as ApiProblem).errors[0]?.field).toBe('/query/cursor');
    }
  }
});

test.each([
  ['$', ''],
  ['$.replicaCount', '/replicaCount'],
  ['$.resources.limits.cpu', '/resources/limits/cpu'],
  ['$.env[0].name', '/env/0/name'],
  ['$["a/b"]["c~d"]', '/a~1b/c~0d'],
])('jsonPathToPointer(%s) = %s', (path, pointer) => {
  expect(jsonPathToPointer(path)).toBe(pointer);
});

test('ajv errors become request pointers: unknown and missing properties name the property', () => {
  const ajv = new Ajv({ allErrors: true, verbose: true });
  const validate = ajv.compile({
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string' }, nested: { type: 'object', properties: { port: { type: 'integer' } } } },
  });
  validate({ extra: 1, nested: { port: 'x' } });
  expect(fieldErrors('body', validate.errors ?? [])).toEqual([
    { field: '/body/name', message: 'is required' },
    { field: '/body/extra', message: 'is not a known field' },
    { field: '/body/nested/port', message: 'must be integer' },
  ]);
  expect(fieldErrors('querystring', [{ instancePath: '/limit', keyword: 'maximum', params: {}, schemaPath: '', message: 'must be <= 500' }])).toEqual([
    { field: '/query/limit', message: 'must be <= 500' },
  ]);
});

test('apiConfig: defaults, env, flags over env, and named errors', () => {
  expect(apiConfig({}, {})).toMatchObject({ port: 8081, host: '0.0.0.0', maxInstancesPerUser: 10, bodyLimitBytes: 256 * 1024, helmBin: 'helm', kubeconfig: undefined });
  expect(apiConfig({}, { CAELUS_API_PORT: '9000', CAELUS_MAX_INSTANCES_PER_USER: '3', KUBECONFIG: '/k' })).toMatchObject({ port: 9000, maxInstancesPerUser: 3, kubeconfig: '/k' });
  expect(apiConfig({ port: '0' }, { CAELUS_API_PORT: '9000' }).port).toBe(0);
  expect(() => apiConfig({}, { CAELUS_API_PORT: 'eighty' })).toThrow(/CAELUS_API_PORT/);
  expect(() => apiConfig({}, { CAELUS_MAX_INSTANCES_PER_USER: '-1' })).toThrow(/CAELUS_MAX_INSTANCES_PER_USER/);
});

test('apiConfig: idempotency key retention and purge schedule', () => {
  expect(apiConfig({}, {})).toMatchObject({ idempotencyRetentionHours: 24, idempotencyPurgeSchedule: '17 * * * *' });
  expect(apiConfig({}, { CAELUS_API_IDEMPOTENCY_RETENTION_HOURS: '48', CAELUS_API_IDEMPOTENCY_PURGE_SCHEDULE: '*/5 * * * *' })).toMatchObject({
    idempotencyRetentionHours: 48,
    idempotencyPurgeSchedule: '*/5 * * * *',
  });
  expect(() => apiConfig({}, { CAELUS_API_IDEMPOTENCY_RETENTION_HOURS: '0' })).toThrow(/CAELUS_API_IDEMPOTENCY_RETENTION_HOURS/);
  expect(() => apiConfig({}, { CAELUS_API_IDEMPOTENCY_PURGE_SCHEDULE: 'hourly' })).toThrow(/CAELUS_API_IDEMPOTENCY_PURGE_SCHEDULE/);
});
