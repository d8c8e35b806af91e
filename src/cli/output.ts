/** Exit codes (STYLE 10): 0 all verified / done, 1 something failed, 2 usage or configuration. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** main.ts's option and action helpers, handed to the modules that register their own commands. */
export interface CommandHelpers {
  json(): import('commander').Option;
  action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function println(line = ''): void {
  process.stdout.write(line + '\n');
}
