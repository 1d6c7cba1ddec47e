// GET /shards (admin): instances per shard and any instance no live shard
// owns; the same figures as caelus_shard_instances on /metrics (computed at
// scrape time; sum by live="false" is what no live shard owns).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Gauge } from 'prom-client';
import { Type } from 'typebox';
import { principalOf, requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../context.ts';
import { problems } from '../schemas.ts';
import { apiSharding, readShardOverview } from '../shard-status.ts';
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from '../../config/shards.ts';

const shardView = Type.Object({
  name: Type.Union([Type.String(), Type.Null()], { description: 'the shard; null without sharding (one operator)' }),
  default: Type.Boolean({ description: 'owns CaelusInstances without a caelus.io/shard label' }),
  lease: Type.String({ description: "the Lease the shard's replicas compete for" }),
  holder: Type.Union([Type.String(), Type.Null()]),
  live: Type.Union([Type.Boolean(), Type.Null()], { description: 'its Lease is held and fresh; null when the API has no cluster access' }),
  instances: Type.Integer({ description: 'live instances assigned to the shard' }),
});

export const shardOverviewSchema = Type.Object({
  sharded: Type.Boolean(),
  shards: Type.Array(shardView),
  unknown: Type.Array(Type.Object({ name: Type.String(), instances: Type.Integer() }), { description: 'instances assigned to shards CAELUS_SHARDS does not list' }),
  unowned: Type.Union([Type.Integer(), Type.Null()], { description: 'instances no live shard owns; null when liveness is unknown' }),
});

export const shardRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const sharding = deps.sharding ?? apiSharding(undefined, { leaseNamespace: DEFAULT_LEASE_NAMESPACE, baseLeaseName: DEFAULT_LEASE_NAME }, undefined);
  const overview = () => readShardOverview(deps.db, sharding);

  app.get(
    '/shards',
    { schema: { tags: ['shards'], summary: 'instances per operator shard, and any no live shard owns (admin)', response: { 200: shardOverviewSchema, ...problems(403) } } },
    async (request) => {
      requireAdmin(principalOf(request));
      return overview();
    },
  );

  const registers = [deps.metrics.registry];
  new Gauge({
    name: 'caelus_shard_instances',
    help: 'Live instances per operator shard (shard="" without sharding), and whether the shard holds a fresh Lease (live="true"|"false"|"unknown")',
    labelNames: ['shard', 'live'] as const,
    registers,
    async collect() {
      this.reset();
      const o = await overview().catch((err: unknown) => {
        deps.logger.warn({ err }, 'shard overview for /metrics failed');
        return undefined;
      });
      for (const s of o?.shards ?? []) this.set({ shard: s.name ?? '', live: s.live === null ? 'unknown' : String(s.live) }, s.instances);
      for (const u of o?.unknown ?? []) this.set({ shard: u.name, live: 'false' }, u.instances);
    },
  });
};
