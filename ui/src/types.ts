// Shapes of the REST API's answers the console reads: derived from the
// server's TypeBox response schemas (the same ones /openapi.json publishes),
// so the console's types cannot drift from what the API sends. Type-only
// imports: the bundle gets none of the server's code.
import type { Static } from 'typebox';
import type {
  eventListSchema,
  historySchema,
  instanceChangeSchema,
  meSchema,
  namespaceQuotaSchema,
  objectsSchema,
  userListSchema,
} from '../../src/api/console-schemas.ts';
import type { rolloutSchema } from '../../src/api/rollout-schemas.ts';
import type {
  instanceDetailSchema,
  instanceListItemSchema,
  instanceListSchema,
  templateDetailSchema,
  templateSchema,
  tokenSchema,
  versionSchema,
} from '../../src/api/schemas.ts';

type Item<T extends { items: readonly unknown[] }> = T['items'][number];

export type Me = Static<typeof meSchema>;
export type Role = Me['role'];
export type Instance = Static<typeof instanceListItemSchema>;
export type InstanceDetail = Static<typeof instanceDetailSchema>;
export type InstancePage = Static<typeof instanceListSchema>;
export type Template = Static<typeof templateSchema>;
export type Version = Static<typeof versionSchema>;
export type TemplateDetail = Static<typeof templateDetailSchema>;
export type KubeEvent = Item<Static<typeof eventListSchema>>;
export type HistoryEntry = Item<Static<typeof historySchema>>;
export type ReleaseObject = Item<Static<typeof objectsSchema>>;
export type QuotaItem = Item<Static<typeof namespaceQuotaSchema>>;
export type Token = Static<typeof tokenSchema>;
export type UserQuota = Item<Static<typeof userListSchema>>;
export type Rollout = Static<typeof rolloutSchema>;
export type InstanceChange = Static<typeof instanceChangeSchema>;
