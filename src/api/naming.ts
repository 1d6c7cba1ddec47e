// Default namespace of a new instance. The namespace also names the
// CaelusInstance and the Helm release, so it must be a DNS label of at most 53
// characters (Helm's release-name limit). It starts with the user id so an
// operator looking at `kubectl get ns` can tell whose it is, and ends with a
// random suffix so one user's instances never collide.
import { randomBytes } from 'node:crypto';

export const MAX_INSTANCE_NAME = 53;
const SUFFIX_HEX = 8;

export function generateNamespace(userId: string, random: () => string = () => randomBytes(SUFFIX_HEX / 2).toString('hex')): string {
  const suffix = random();
  const room = MAX_INSTANCE_NAME - suffix.length - 1;
  const stem = userId
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return `${stem || 'u'}-${suffix}`;
}
