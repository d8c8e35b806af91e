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

/**
 * A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI logs, --json runs
 * that are captured).
 */
export function progressBar(label: string): { update(done: number, total: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}
