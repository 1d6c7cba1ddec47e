// How a request, a CaelusInstance or a catalog names a template version: its
// id or `<template name>@<version>`. The parse is here, once; each catalog
// (database, file) looks the parsed reference up in its own store.
import { DNS_LABEL } from './naming.ts';

/** The reference pattern (without anchors) the API schema and the CRD use. */
export const VERSION_REF_SOURCE =
  '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?@[0-9A-Za-z.+-]{1,128})';

export type VersionRef = { kind: 'id'; id: string } | { kind: 'name'; templateName: string; version: string };

/** `webapp@1.2.0` → by name; anything without `@` → by id; undefined when it cannot name a version. */
export function parseVersionRef(ref: string): VersionRef | undefined {
  const at = ref.lastIndexOf('@');
  if (at < 0) return ref.length > 0 ? { kind: 'id', id: ref } : undefined;
  const templateName = ref.slice(0, at);
  const version = ref.slice(at + 1);
  if (!DNS_LABEL.test(templateName) || version.length === 0 || version.length > 128) return undefined;
  return { kind: 'name', templateName, version };
}
