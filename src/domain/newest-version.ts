// Which version of a template is its newest: the highest semantic version
// (not the last published: a 1.4.1 hotfix published after 2.0.0 is not
// newer). An instance on any other version is "outdated" (GET /instances).
import semver from 'semver';

export interface VersionLike {
  id: string;
  templateId: string;
  version: string;
}

/** templateId → its highest version; versions that are not semantic versions never win. */
export function newestVersions<V extends VersionLike>(versions: readonly V[]): Map<string, V> {
  const newest = new Map<string, V>();
  for (const v of versions) {
    if (!semver.valid(v.version)) continue;
    const best = newest.get(v.templateId);
    if (!best || semver.gt(v.version, best.version)) newest.set(v.templateId, v);
  }
  return newest;
}
