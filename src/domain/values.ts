import { deepmergeCustom } from 'deepmerge-ts';

export type Values = Record<string, unknown>;
export type ValueSource = 'template' | 'instance';

// Helm's own rule for -f files: maps merge, lists replace. Merging lists
// element-wise would make an override of `env` or `args` impossible to express.
const merge = deepmergeCustom({ mergeArrays: false });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Template defaults ⊕ instance overrides (later wins; maps merge, lists replace). Inputs are not mutated. */
export function mergeValues(...layers: Array<Values | undefined>): Values {
  const present = layers.filter((l): l is Values => l !== undefined);
  if (present.length === 0) return {};
  return merge({}, ...present) as Values;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Where each leaf of the merged values came from, keyed by JSON pointer. A
 * leaf is a scalar, a list, or an empty map; the API shows this next to the
 * effective values so a tenant sees what they overrode.
 */
export function valuesProvenance(defaults: Values, overrides: Values | undefined): Record<string, ValueSource> {
  const out: Record<string, ValueSource> = {};
  const walk = (value: unknown, over: unknown, hasOver: boolean, pointer: string): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) {
        const overChild = hasOver && isPlainObject(over) && k in over;
        walk(v, overChild ? (over as Values)[k] : undefined, overChild, `${pointer}/${escapePointer(k)}`);
      }
      return;
    }
    out[pointer] = hasOver ? 'instance' : 'template';
  };
  walk(mergeValues(defaults, overrides), overrides, overrides !== undefined, '');
  return out;
}
