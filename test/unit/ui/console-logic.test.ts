// The console's pure pieces: the SSE frame parser, the values diff and
// provenance lookup, the form's set-by-path, and the field errors from the
// values schema (the same schema the API validates with).
import { parseFrames } from '../../../ui/src/sse.ts';
import { diffValues, flatten, sourceOf } from '../../../ui/src/format.ts';
import { setAt, validateValues, valuesErrorsFromProblem } from '../../../ui/src/values-schema.ts';

describe('parseFrames', () => {
  it('returns complete events, skips comments (keepalives) and keeps a partial frame for the next chunk', () => {
    const { events, rest } = parseFrames(': keepalive\n\nevent: instance\ndata: {"id":"a"}\n\nevent: instance\ndata: {"id"');
    expect(events).toEqual([{ event: 'instance', data: '{"id":"a"}' }]);
    expect(rest).toBe('event: instance\ndata: {"id"');
    expect(parseFrames(`${rest}:"b"}\r\n\r\n`).events).toEqual([{ event: 'instance', data: '{"id":"b"}' }]);
  });
});

describe('values display', () => {
  it('flattens to JSON pointers and finds the nearest recorded source', () => {
    expect([...flatten({ a: { b: 1, 'c/d': [true] }, e: {} })]).toEqual([
      ['/a/b', 1],
      ['/a/c~1d/0', true],
      ['/e', {}],
    ]);
    const provenance = { '/a': 'template', '/a/b': 'instance', '/domainName': 'caelus' };
    expect(sourceOf('/a/b', provenance)).toBe('instance');
    expect(sourceOf('/a/x/y', provenance)).toBe('template');
    expect(sourceOf('/zzz', provenance)).toBeUndefined();
  });

  it('diffs old → new by key', () => {
    expect(diffValues({ message: 'v1', keep: 1, gone: true }, { message: 'v2', keep: 1, added: 'x' })).toEqual([
      { pointer: '/added', kind: 'added', after: 'x' },
      { pointer: '/gone', kind: 'removed', before: true },
      { pointer: '/message', kind: 'changed', before: 'v1', after: 'v2' },
    ]);
  });
});

describe('values form', () => {
  it('sets nested keys and removes emptied parents, so the template default applies again', () => {
    const v = setAt({}, ['resources', 'limits', 'cpu'], '1');
    expect(v).toEqual({ resources: { limits: { cpu: '1' } } });
    expect(setAt(v, ['resources', 'limits', 'cpu'], undefined)).toEqual({});
  });

  it('names each invalid field by JSON pointer', () => {
    const schema = {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, replicaCount: { type: 'integer', maximum: 3 }, nested: { type: 'object', properties: { on: { type: 'boolean' } } } },
    };
    const errors = validateValues(schema, { replicaCount: 7, nested: { on: 'yes' }, extra: 1 });
    expect(Object.keys(errors).sort()).toEqual(['/extra', '/name', '/nested/on', '/replicaCount']);
    expect(errors['/name']).toBe('is required');
    expect(errors['/extra']).toBe('is not allowed by the schema');
    expect(errors['/replicaCount']).toMatch(/3/);
    expect(validateValues(schema, { name: 'x', replicaCount: 2 })).toEqual({});
    expect(validateValues(null, { anything: 1 })).toEqual({});
  });

  it('maps the API problem fields to the same pointers', () => {
    expect(valuesErrorsFromProblem([{ field: '/body/values/replicaCount', message: 'must be <= 3' }, { field: '/body/domainName', message: 'x' }])).toEqual({ '/replicaCount': 'must be <= 3' });
  });
});
