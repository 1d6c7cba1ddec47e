// PGlite keeps its data in files that only one process may have open: a
// second process (say `caelus migrate` while `caelus dev` runs) would corrupt
// them. A lock file next to the data directory, holding the owner's pid, turns
// that into a clear error. A lock left by a dead process is taken over.
import { openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs';
import { DataError } from './errors.ts';

export class DirectoryLockedError extends DataError {
  constructor(dir: string, pid: number) {
    super('DATABASE_UNAVAILABLE', `the PGlite data directory ${dir} is in use by process ${pid}; stop it or set DATABASE_URL to share a PostgreSQL server`, { dir, pid });
  }
}

/** Takes the lock for `dir`; returns the function that releases it. */
export function lockDirectory(dir: string): () => void {
  const path = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw new DirectoryLockedError(dir, owner);
      // Stale (owner gone) or unreadable: remove and try once more.
      rmSync(path, { force: true });
    }
  }
  throw new DataError('DATABASE_UNAVAILABLE', `could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
