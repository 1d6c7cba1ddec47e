// The shard recorded per instance (migration 0035): what the sync's sweep of
// one shard lists and what GET /shards counts — on both dialects.
import { getSyncedInstance, listSyncNamespaces, setInstanceShard } from '../../../src/db/repositories/instance-sync.ts';
import { createInstance, markInstanceDeleted } from '../../../src/db/repositories/instances.ts';
import { countInstancesByShard } from '../../../src/db/repositories/shards.ts';
import { ValidationError } from '../../../src/db/errors.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, seedVersion } from '../../support/db-fixtures.ts';

describe.each(testDatabases())('instance shards on $name', ({ create }) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await create();
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('rows keep their shard; a shard sweep lists its rows (the default shard also the unassigned ones)', async () => {
    const versionId = (await seedVersion(h.db)).version.id;
    const make = (namespace: string, shard?: string) =>
      createInstance(h.db, { userId: 'u', productTemplateVersionId: versionId, namespace, ...(shard ? { shard } : {}) }, ACTOR);
    const legacy = await make('sh-legacy');
    const east = await make('sh-east', 'east');
    await make('sh-west', 'west');
    const gone = await make('sh-gone', 'west');
    await markInstanceDeleted(h.db, gone.id, ACTOR);
    expect((await getSyncedInstance(h.db, legacy.id))?.shard).toBeNull();
    expect((await getSyncedInstance(h.db, east.id))?.shard).toBe('east');

    const since = new Date(Date.now() - 3600_000);
    expect((await listSyncNamespaces(h.db, since, { shard: 'east', withUnassigned: true })).sort()).toEqual(['sh-east', 'sh-legacy']);
    expect((await listSyncNamespaces(h.db, since, { shard: 'west', withUnassigned: false })).sort()).toEqual(['sh-gone', 'sh-west']);
    expect((await listSyncNamespaces(h.db, since)).sort()).toEqual(['sh-east', 'sh-gone', 'sh-legacy', 'sh-west']);

    const counts = (await countInstancesByShard(h.db)).sort((a, b) => String(a.shard).localeCompare(String(b.shard)));
    expect(counts).toEqual([
      { shard: 'east', instances: 1 },
      { shard: null, instances: 1 },
      { shard: 'west', instances: 1 },
    ]);

    // An admin relabelled the CR: the row follows.
    await setInstanceShard(h.db, legacy.id, 'west');
    expect((await getSyncedInstance(h.db, legacy.id))?.shard).toBe('west');
    await expect(setInstanceShard(h.db, legacy.id, 'Not A Shard')).rejects.toThrow(ValidationError);
    await expect(make('sh-bad', 'UPPER')).rejects.toThrow(/shard/);
  });
});
