// Row types of the tables created by migrations/; kysely checks every query
// against them. Keep in step with the migrations (a new migration that changes
// a table changes its interface here in the same commit).
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import { DeletionPolicy, InstanceState } from '../domain/instance.ts';

export type { DeletionPolicy, InstanceState };

/** A JSON document stored as jsonb: read as parsed JSON, written through `jsonb()` (src/db/json.ts). */
export type Json = ColumnType<JsonValue, unknown, unknown>;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Timestamp = ColumnType<Date, Date, Date>;
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

export const INSTANCE_STATES = Object.values(InstanceState);
export const INSTANCE_SOURCES = ['api', 'cluster'] as const;
export type InstanceSource = (typeof INSTANCE_SOURCES)[number];
/** What deleting an instance does to its namespace (CaelusInstance spec.deletionPolicy). */
export const DELETION_POLICIES = Object.values(DeletionPolicy);
export const TOKEN_ROLES = ['admin', 'user'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface ProductTemplateTable {
  id: Generated<string>;
  name: string;
  description: string;
  created_at: CreatedAt;
}

export interface ProductTemplateVersionTable {
  id: Generated<string>;
  template_id: string;
  version: string;
  /** Encoded ChartReference, see src/db/chart-reference.ts. */
  helm_chart_path: string;
  chart_version: string | null;
  default_values: Json;
  values_schema: Json | null;
  tier: string | null;
  /** Pod Security level of the instance namespaces (restricted|baseline; null = restricted). Migration 0007. */
  pod_security: string | null;
  /** Extra NetworkPolicy ingress rules (JSON array). Migration 0007. */
  network_rules: Json | null;
  egress_rules: Json | null;
  /** Tiers an instance may choose with spec.tier besides `tier` (JSON array of names). Migration 0007. */
  allowed_tiers: Json | null;
  /** Domain suffixes instances may use (JSON array of patterns, src/domain/naming.ts); null = none declared. Migration 0016. */
  domain_suffixes: Json | null;
  created_at: CreatedAt;
  /** The chart_package this version is pinned to; null for local development charts. Migration 0021. */
  chart_digest: string | null;
  /** Repository credentials used to pull the chart. Migration 0021. */
  chart_credential_id: string | null;
  /** Declared secrets (JSON array, src/domain/declared-secrets.ts). Migration 0021. */
  secrets: Json | null;
}

export interface DeploymentInstanceTable {
  id: Generated<string>;
  user_id: string;
  product_template_version_id: string;
  namespace: string;
  domain_name: string | null;
  values: Json;
  /** Desired state (spec): Running or Hibernated. */
  state: InstanceState;
  /** Observed phase copied from the CR status (Pending, Running, Failed, …). */
  status: string;
  status_message: string | null;
  spec_version: Generated<number>;
  observed_spec_version: number | null;
  helm_revision: number | null;
  source: InstanceSource;
  last_reconcile_at: Timestamp | null;
  expires_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  deleted_at: Timestamp | null;
  /** The mapped spec last pushed to / imported from the CaelusInstance (src/sync); null = never synced. Migration 0013. */
  synced_spec: Json | null;
  /** Last activity reported through the API (idle hibernation); migration 0010. */
  last_activity_at: Timestamp | null;
  /** Delete (default) or Retain the namespace when the instance is deleted; migration 0015. */
  deletion_policy: ColumnType<DeletionPolicy, DeletionPolicy | undefined, DeletionPolicy>;
  /** metadata.uid of the CaelusInstance bound to the row (src/sync); null = none yet. Migration 0029. */
  cr_uid: ColumnType<string | null, string | null | undefined, string | null>;
  /** The shard (caelus.io/shard) the instance was assigned to; null = the default shard. Migration 0035. */
  shard: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface InstanceSecretTable {
  instance_id: string;
  name: string;
  /** AES-256-GCM ciphertext followed by the 16-byte auth tag. */
  ciphertext: Bytes;
  nonce: Bytes;
  key_id: string;
  created_at: CreatedAt;
  /** 1 on create, +1 on every put; migration 0020. */
  version: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A pulled chart package by its sha256 (migration 0021). */
export interface ChartPackageTable {
  digest: string;
  content: Bytes;
  size: number;
  created_at: CreatedAt;
}

/** Chart repository credentials; username/password sealed as JSON (migration 0021). */
export interface ChartCredentialTable {
  id: Generated<string>;
  name: string;
  ciphertext: Bytes;
  nonce: Bytes;
  key_id: string;
  ca_cert: string | null;
  created_at: CreatedAt;
}

export interface ApiTokenTable {
  id: Generated<string>;
  name: string;
  role: TokenRole;
  user_id: string | null;
  /** sha256 of the token, hex; the token itself is never stored. */
  token_hash: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** null = never expires. Migration 0018. */
  expires_at: Timestamp | null;
}

export interface AuditEventTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string;
  action: string;
  instance_id: string | null;
  detail: Json;
}

export interface IdempotencyKeyTable {
  key: string;
  actor: string;
  request_hash: string;
  /** null while the first request is still being processed. */
  response: Json | null;
  /** When the key was claimed; reset when an abandoned claim is taken over. */
  created_at: ColumnType<Date, Date | undefined, Date>;
}

/** An admin's per-user override of the default instance quota (migration 0010). */
export interface UserQuotaTable {
  user_id: string;
  max_instances: number;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A namespace kept by a Retain deletion; counts toward its owner's quota until released (migration 0017). */
export interface RetainedNamespaceTable {
  namespace: string;
  user_id: string;
  instance_id: string;
  retained_at: CreatedAt;
}

export interface Database {
  product_template: ProductTemplateTable;
  product_template_version: ProductTemplateVersionTable;
  deployment_instance: DeploymentInstanceTable;
  instance_secret: InstanceSecretTable;
  api_token: ApiTokenTable;
  audit_event: AuditEventTable;
  idempotency_key: IdempotencyKeyTable;
  user_quota: UserQuotaTable;
  chart_package: ChartPackageTable;
  chart_credential: ChartCredentialTable;
  rollout_strategy: RolloutStrategyTable;
  rollout: RolloutTable;
  rollout_instance: RolloutInstanceTable;
  retained_namespace: RetainedNamespaceTable;
}

/** A named, reusable rollout strategy (migration 0024). */
export interface RolloutStrategyTable {
  id: Generated<string>;
  name: string;
  strategy: Json;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A fleet rollout run (migration 0024; states in src/domain/rollout.ts). */
export interface RolloutTable {
  id: Generated<string>;
  template_id: string;
  target_version_id: string;
  state: ColumnType<string, string | undefined, string>;
  /** The resolved strategy the run uses (every knob explicit). */
  strategy: Json;
  strategy_name: string | null;
  selector: Json;
  include_hibernated: ColumnType<boolean, boolean | undefined, boolean>;
  current_wave: ColumnType<number, number | undefined, number>;
  wave_count: ColumnType<number, number | undefined, number>;
  approved_at: Timestamp | null;
  rollback_requested_at: Timestamp | null;
  message: string | null;
  created_by: string;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** One selected instance of a rollout, with its source version and progress (migration 0024). */
export interface RolloutInstanceTable {
  rollout_id: string;
  instance_id: string;
  position: number;
  wave: number | null;
  source_version_id: string;
  state: string;
  reason: string | null;
  before_revision: number | null;
  target_generation: number | null;
  started_at: Timestamp | null;
  baking_since: Timestamp | null;
  finished_at: Timestamp | null;
  rollback_started_at: Timestamp | null;
  rollback_generation: number | null;
}

export type ProductTemplateRow = Selectable<ProductTemplateTable>;
export type ProductTemplateVersionRow = Selectable<ProductTemplateVersionTable>;
export type DeploymentInstanceRow = Selectable<DeploymentInstanceTable>;
export type InstanceSecretRow = Selectable<InstanceSecretTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type AuditEventRow = Selectable<AuditEventTable>;
export type NewAuditEvent = Insertable<AuditEventTable>;
