// Shapes of the REST API's answers the console reads (docs/console-api.md, /openapi.json).

export type Role = 'admin' | 'user';

export interface Me {
  role: Role;
  userId: string | null;
  tokenName: string;
  expiresAt: string | null;
}

export interface Ref {
  id: string;
  version: string;
}

export interface Instance {
  id: string;
  userId: string;
  template: { id: string; name: string };
  templateVersion: Ref;
  latestVersion?: Ref;
  outdated?: boolean;
  namespace: string;
  domainName: string | null;
  values: Record<string, unknown>;
  state: 'Running' | 'Hibernated';
  status: string;
  statusMessage: string | null;
  source: 'api' | 'cluster';
  specVersion: number;
  observedSpecVersion: number | null;
  helmRevision: number | null;
  lastReconcileAt: string | null;
  expiresAt: string | null;
  deletionPolicy: 'Delete' | 'Retain';
  createdAt: string;
  updatedAt: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface InstanceDetail extends Instance {
  url: string | null;
  conditions: Condition[];
  drift: Record<string, unknown> | null;
  statusSource: 'cluster' | 'database';
  effectiveValues: Record<string, unknown>;
  valuesProvenance: Record<string, 'template' | 'caelus' | 'instance'>;
}

export interface InstancePage {
  items: Instance[];
  nextCursor: string | null;
  total?: number;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  createdAt: string;
}

export interface Version {
  id: string;
  templateId: string;
  version: string;
  chart: Record<string, unknown>;
  chartVersion: string | null;
  defaultValues: Record<string, unknown>;
  valuesSchema: Record<string, unknown> | null;
  tier: string | null;
  chartDigest: string | null;
  createdAt: string;
}

export interface TemplateDetail extends Template {
  versions: Version[];
}

export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  object: { kind: string; name: string; namespace: string | null };
  count: number;
  firstSeen: string | null;
  lastSeen: string | null;
  source: string;
}

export interface HistoryEntry {
  revision: number;
  status: string;
  chart: string | null;
  chartVersion: string | null;
  appVersion: string | null;
  updatedAt: string | null;
  description: string;
  trusted: boolean;
  /** Why the record is not trusted. */
  problem: string | null;
}

export interface ReleaseObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | null;
  present: boolean;
  ready: boolean | null;
  summary: string;
}

export interface QuotaItem {
  quota: string;
  resource: string;
  hard: string;
  used: string;
}

export interface Token {
  id: string;
  name: string;
  role: Role;
  userId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
}

export interface UserQuota {
  userId: string;
  instances?: number;
  quota: { limit: number; used: number; retained?: number; overridden: boolean };
}

export interface Rollout {
  id: string;
  template: { id: string; name: string };
  targetVersion: Ref;
  state: string;
  currentWave: number;
  waveCount: number;
  total: number;
  counts: Record<string, number>;
  message: string | null;
  createdAt: string;
}

export interface InstanceChange {
  id: string;
  status: string;
  state: string;
  specVersion: number;
  observedSpecVersion: number | null;
  helmRevision: number | null;
  updatedAt: string;
  deleted: boolean;
}
