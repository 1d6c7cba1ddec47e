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
  valuesPreviewSchema,
} from '../../src/api/console-schemas.ts';
import type { rolloutListSchema } from '../../src/api/rollout-schemas.ts';
import type {
  createdTokenSchema,
  instanceDetailSchema,
  instanceListItemSchema,
  instanceListSchema,
  templateDetailSchema,
  templateListSchema,
  templateSchema,
  tokenListSchema,
  versionSchema,
} from '../../src/api/schemas.ts';

export type Me = Static<typeof meSchema>;
export type Role = Me['role'];
export type Instance = Static<typeof instanceListItemSchema>;
export type InstanceDetail = Static<typeof instanceDetailSchema>;
export type InstancePage = Static<typeof instanceListSchema>;
export type Template = Static<typeof templateSchema>;
export type TemplateList = Static<typeof templateListSchema>;
export type Version = Static<typeof versionSchema>;
export type TemplateDetail = Static<typeof templateDetailSchema>;
export type EventList = Static<typeof eventListSchema>;
export type KubeEvent = EventList['items'][number];
export type HistoryList = Static<typeof historySchema>;
export type HistoryEntry = HistoryList['items'][number];
export type ReleaseObjects = Static<typeof objectsSchema>;
export type ReleaseObject = ReleaseObjects['items'][number];
export type QuotaList = Static<typeof namespaceQuotaSchema>;
export type QuotaItem = QuotaList['items'][number];
export type ValuesPreview = Static<typeof valuesPreviewSchema>;
export type TokenList = Static<typeof tokenListSchema>;
export type Token = TokenList['items'][number];
export type CreatedToken = Static<typeof createdTokenSchema>;
export type UserList = Static<typeof userListSchema>;
export type UserQuota = UserList['items'][number];
export type RolloutList = Static<typeof rolloutListSchema>;
export type Rollout = RolloutList['items'][number];
export type InstanceChange = Static<typeof instanceChangeSchema>;
