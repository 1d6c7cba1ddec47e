import { canonicalJson, digestOf } from '../../../src/domain/digest.ts';

describe('digest', () => {
  it('is independent of key order and changes with any value', () => {
    expect(digestOf({ a: 1, b: { c: [1, 2] } })).toBe(digestOf({ b: { c: [1, 2] }, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
    expect(digestOf({ l: [1, 2] })).not.toBe(digestOf({ l: [2, 1] }));
    expect(digestOf({ a: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('drops undefined like JSON does', () => {
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});
