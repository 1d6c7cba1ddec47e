import { deepmergeCustom } from 'deepmerge-ts';

export type Values = Record<string, unknown>;

/**
 * The three layers of an instance's Helm values, in the order they are
 * merged: the template version's defaults, the tenant's overrides, then the
 * values Caelus provides. Caelus's layer goes last so a tenant can never
 * override what Caelus owns (the host the instance is served under).
 */
export const ValueSource = { Template: 'template', Instance: 'instance', Caelus: 'caelus' } as const;
export type ValueSource = (typeof ValueSource)[keyof typeof ValueSource];

// Helm's own rule for -f files: maps merge, lists replace. Merging lists
// element-wise would make an override of `env` or `args` impossible to express.
const merge = deepmergeCustom({ mergeArrays: false });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Layers merged left to right (later wins; maps merge, lists replace). Inputs are not mutated. */
export function mergeValues(...layers: Array<Values | undefined>): Values {
  const present = layers.filter((l): l is Values => l !== undefined);
  if (present.length === 0) return {};
  return merge({}, ...present) as Values;
}

/**
 * What Caelus passes to every chart. `domainName` is always set (empty when
 * the instance has none), so a tenant's `values.domainName` can never choose
 * the host: the domain is checked (ownership, allowed suffixes) only through
 * the instance's own domainName.
 */
export function caelusValues(instance: { domainName?: string | null | undefined }): Values {
  return { domainName: instance.domainName ?? '' };
}

export interface InstanceValues {
  /** The template version's default values. */
  defaults: Values;
  /** The instance's overrides (spec.values). */
  overrides: Values | undefined;
  /** The instance's host name, if any. */
  domainName?: string | null | undefined;
}

export interface EffectiveValues {
  /** What helm receives. */
  values: Values;
  /** JSON pointer of every leaf → the layer it came from. */
  provenance: Record<string, ValueSource>;
}

/**
 * The one rule for an instance's effective values, used by the operator (what
 * helm installs) and the API (what GET /instances/{id} shows).
 */
export function effectiveValues(input: InstanceValues): EffectiveValues {
  const layers: Array<[ValueSource, Values]> = [
    [ValueSource.Template, input.defaults],
    [ValueSource.Instance, input.overrides ?? {}],
    [ValueSource.Caelus, caelusValues(input)],
  ];
  const values = mergeValues(...layers.map(([, v]) => v));
  return { values, provenance: provenanceOf(values, layers) };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Where each leaf of the merged values came from: the last layer that sets
 * it. A leaf is a scalar, a list, or an empty map.
 */
function provenanceOf(merged: Values, layers: ReadonlyArray<[ValueSource, Values]>): Record<string, ValueSource> {
  const out: Record<string, ValueSource> = {};
  const walk = (value: unknown, path: string[]): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
      return;
    }
    let source: ValueSource = ValueSource.Template;
    for (const [name, layer] of layers) if (has(layer, path)) source = name;
    out[path.map((k) => `/${escapePointer(k)}`).join('')] = source;
  };
  walk(merged, []);
  return out;
}

function has(layer: Values, path: readonly string[]): boolean {
  let node: unknown = layer;
  for (const k of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, k)) return false;
    node = node[k];
  }
  return true;
}
