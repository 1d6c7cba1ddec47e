// Migrations on both dialects: from empty, status, down/up, and concurrent runs.
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { execa } from 'execa';
import { sql } from 'kysely';
import { MIGRATIONS } from '../../../src/db/migrations.ts';
import { migrateDown, migrateUp, migrationStatus } from '../../../src/db/migrator.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NAMES = Object.keys(MIGRATIONS);

test('the migration list names every file in migrations/, in order', () => {
  const files = readdirSync(`${ROOT}migrations`).filter((f) => /^\d{4}_.*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, '')).sort();
  expect(NAMES).toEqual(files);
});

describe.each(testDatabases())('migrations on $name', ({ name, create }) => {
  let h: TestDatabase | undefined;
  afterEach(async () => {
    await h?.destroy();
    h = undefined;
  });

  test('up from empty applies every migration; status lists them as applied', async () => {
    h = await create({ migrate: false });
    expect((await migrationStatus(h.db)).every((m) => m.executedAt === undefined)).toBe(true);
    const run = await migrateUp(h.db);
    console.log(`[figure] ${name}: migrate from empty (${run.names.length} migrations) took ${run.millis} ms`);
    expect(run.names).toEqual(NAMES);
    const status = await migrationStatus(h.db);
    expect(status.map((m) => m.name)).toEqual(NAMES);
    expect(status.every((m) => m.executedAt instanceof Date)).toBe(true);
    expect((await migrateUp(h.db)).names).toEqual([]);
  });

  test('down reverts the latest migration and up re-applies it', async () => {
    h = await create();
    const last = NAMES[NAMES.length - 1];
    expect((await migrateDown(h.db)).names).toEqual([last]);
    expect((await migrationStatus(h.db)).find((m) => m.name === last)?.executedAt).toBeUndefined();
    expect((await migrateUp(h.db)).names).toEqual([last]);
  });

  test('every down migration runs: all the way down leaves only the migration tables', async () => {
    h = await create();
    for (let i = 0; i < NAMES.length; i++) await migrateDown(h.db);
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(h.db);
    expect(tables.rows.map((r) => r.table_name)).toEqual(['kysely_migration', 'kysely_migration_lock']);
  });

  test('two migrators started at once apply each migration once', async () => {
    h = await create({ migrate: false });
    if (name === 'postgres') {
      // Two real processes against one server database: the advisory lock serialises them.
      const env = { ...process.env, DATABASE_URL: h.url };
      const run = () => execa(process.execPath, [`${ROOT}src/cli.ts`, 'migrate', 'up'], { env, cwd: ROOT, reject: false });
      const [a, b] = await Promise.all([run(), run()]);
      expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
      const applied = [a.stdout, b.stdout].join('\n').match(/^applied \S+/gm) ?? [];
      expect(applied.sort()).toEqual(NAMES.map((n) => `applied ${n}`).sort());
    } else {
      // PGlite is a single-process database (its data directory is locked to
      // one process, see src/db/dir-lock.ts); concurrency here means two
      // migrators racing on the one instance.
      const [a, b] = await Promise.all([migrateUp(h.db), migrateUp(h.db)]);
      expect([...a.names, ...b.names].sort()).toEqual([...NAMES].sort());
    }
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(h.db);
    expect(rows.rows.map((r) => r.name)).toEqual(NAMES);
  });
});
