// The pure half of the label post-renderer: a rendered YAML stream in, the same
// stream with labels merged into metadata.labels of every object out.
//
// Why the failsafe schema: Helm re-parses our output with Go YAML rules
// (YAML 1.1-ish: `0777` is octal, `yes` is a boolean). If we parsed with a
// YAML 1.2 schema and re-emitted, unmodified scalars could change meaning
// (`0777` → `777`). Under the failsafe schema every scalar stays a string with
// its original quoting style, so untouched nodes are emitted exactly as Helm
// wrote them and Helm reads them back the way it would have without us.
import { isMap, isScalar, isSeq, parseAllDocuments, Scalar, YAMLMap, type Document, type Node } from 'yaml';

/** A document of the stream could not be parsed or does not describe an object. */
export class PostRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostRenderError';
  }
}

function quoted(value: string): Scalar<string> {
  // Label values such as "true" or "123" must stay strings for the API server.
  const s = new Scalar(value);
  s.type = Scalar.QUOTE_DOUBLE;
  return s;
}

function labelObject(obj: YAMLMap, labels: Readonly<Record<string, string>>, where: string): void {
  let metadata = obj.get('metadata', true) as Node | undefined | null;
  if (metadata === undefined || metadata === null || (isScalar(metadata) && metadata.value === null)) {
    metadata = new YAMLMap();
    obj.set('metadata', metadata);
  }
  if (!isMap(metadata)) throw new PostRenderError(`${where}: metadata is not a mapping`);
  let existing = metadata.get('labels', true) as Node | undefined | null;
  if (existing === undefined || existing === null || (isScalar(existing) && (existing.value === null || existing.value === ''))) {
    existing = new YAMLMap();
    metadata.set('labels', existing);
  }
  if (!isMap(existing)) throw new PostRenderError(`${where}: metadata.labels is not a mapping`);
  for (const [k, v] of Object.entries(labels)) existing.set(quoted(k), quoted(v));
}

/** `kind: List` (and `*List`) wraps objects in `items`: label the items, which are what the API server stores. */
function labelNode(node: YAMLMap, labels: Readonly<Record<string, string>>, where: string): void {
  const kind = node.get('kind');
  const items = node.get('items', true) as Node | undefined;
  if (typeof kind === 'string' && kind.endsWith('List') && isSeq(items)) {
    items.items.forEach((item, i) => {
      if (!isMap(item)) throw new PostRenderError(`${where}: items[${i}] is not a mapping`);
      labelNode(item, labels, `${where} items[${i}]`);
    });
    return;
  }
  labelObject(node, labels, where);
}

/** The object documents of a rendered stream (failsafe schema: every scalar a string), empty documents dropped. */
export function parseStream(stream: string): Document[] {
  const docs = parseAllDocuments(stream, { schema: 'failsafe', version: '1.1', uniqueKeys: false });
  // parseAllDocuments returns an EmptyStream for input without documents.
  if (!Array.isArray(docs)) return [];
  const out: Document[] = [];
  docs.forEach((doc, i) => {
    const where = `document ${i + 1}`;
    if (doc.errors.length > 0) {
      throw new PostRenderError(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return;
    if (!isMap(root)) throw new PostRenderError(`${where}: not a mapping (a Kubernetes object)`);
    out.push(doc);
  });
  return out;
}

/**
 * Adds `labels` to metadata.labels of every object document (overwriting a
 * chart's own value for the same key: these labels are how Caelus finds its
 * objects, so they must be exact). Comments (`# Source: …`) and formatting of
 * everything else are kept.
 */
export function labelDocuments(docs: readonly Document[], labels: Readonly<Record<string, string>>): string {
  return docs
    .map((doc, i) => {
      labelNode(doc.contents as YAMLMap, labels, `document ${i + 1}`);
      const d = doc.toString({ lineWidth: 0, directives: false });
      return `---\n${d.startsWith('---\n') ? d.slice(4) : d}`;
    })
    .join('');
}

/** Adds `labels` to every object of the YAML stream; empty documents are dropped. */
export function addLabels(stream: string, labels: Readonly<Record<string, string>>): string {
  return labelDocuments(parseStream(stream), labels);
}
