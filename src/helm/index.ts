// Public surface of the Helm adapter.
export { HelmClient } from './client.ts';
export type {
  CallOptions,
  HelmClientOptions,
  ReleasePolicy,
  RollbackOptions,
  TemplateRequest,
  UninstallOptions,
  UpgradeInstallRequest,
} from './client.ts';
export { HelmError, HelmErrorReason, classifyHelmStderr, isHelmError } from './errors.ts';
export type { PolicyViolationDetail } from './errors.ts';
export { HelmOutputError } from './parse.ts';
export { HelmReleaseSecrets, usesSecretStorage } from './release-storage.ts';
export { POST_RENDERER_PLUGIN_NAME, POST_RENDERER_VERSION } from './post-render/setup.ts';
export { isPendingStatus } from './types.ts';
export type { ChartInfo, HelmHistoryEntry, HelmMajor, HelmRelease, HelmVersion, ReleaseStatus } from './types.ts';
export { UnsupportedHelmVersionError, parseHelmVersion } from './version.ts';
