/** A configuration or usage problem: the CLI maps it to exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
