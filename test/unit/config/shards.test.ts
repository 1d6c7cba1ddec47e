import { operatorConfig } from '../../../src/config/operator.ts';
import { shardingConfig } from '../../../src/config/shards.ts';

describe('sharding configuration', () => {
  it('no sharding configured: the old Lease name and no shard', () => {
    const c = operatorConfig({}, {});
    expect(c.shard).toBeUndefined();
    expect(c.leaseName).toBe('caelus-operator');
    expect(shardingConfig({})).toBeUndefined();
  });

  it('a shard process gets its own Lease, derived from CAELUS_LEASE_NAME; the default shard keeps it', () => {
    const env = { CAELUS_SHARDS: 'east, west', CAELUS_LEASE_NAME: 'ops' };
    expect(operatorConfig({}, { ...env, CAELUS_SHARD: 'west' })).toMatchObject({ shard: { name: 'west', shards: ['east', 'west'] }, leaseName: 'ops-west' });
    expect(operatorConfig({ shard: 'east' }, env)).toMatchObject({ shard: { name: 'east' }, leaseName: 'ops' });
  });

  it('refuses what cannot work, naming the setting', () => {
    expect(() => operatorConfig({}, { CAELUS_SHARD: 'a' })).toThrow(/CAELUS_SHARD.*CAELUS_SHARDS .* not set/);
    expect(() => operatorConfig({}, { CAELUS_SHARDS: 'a,b' })).toThrow(/CAELUS_SHARD.*must be told which/);
    expect(() => operatorConfig({ shard: 'c' }, { CAELUS_SHARDS: 'a,b' })).toThrow(/"c" is not one of CAELUS_SHARDS/);
    expect(() => shardingConfig({ CAELUS_SHARDS: 'a,a' })).toThrow(/CAELUS_SHARDS: "a" is listed twice/);
    expect(() => shardingConfig({ CAELUS_SHARDS: 'a,B_x' })).toThrow(/CAELUS_SHARDS: "B_x" is not a shard name/);
    expect(() => shardingConfig({ CAELUS_SHARDS: 'a,,b' })).toThrow(/CAELUS_SHARDS: "" is not a shard name/);
  });
});
