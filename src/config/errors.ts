/** Configuration that cannot be used; `setting` names the environment variable or flag. */
export class ConfigError extends Error {
  readonly code = 'CONFIG';
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
