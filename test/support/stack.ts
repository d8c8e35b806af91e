// Running localstack/stack.sh from TypeScript: shared by the test global setup and the benchmark.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// From test/support under vitest/tsx, or from dist/test/support once built (the benchmark).
export const STACK_SH = ['../../localstack/stack.sh', '../../../localstack/stack.sh']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p)) ?? fileURLToPath(new URL('../../localstack/stack.sh', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string;
}

/** Runs `bash stack.sh ARGS`, streaming its stderr (progress, failure logs) to ours. */
export function runStack(args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [STACK_SH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      process.stderr.write(d);
      stderr = (stderr + d).slice(-4000);
    });
    // SIGTERM lets stack.sh's exit trap stop the daemons it already started.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderrTail: stderr.split('\n').slice(-15).join('\n') });
    });
  });
}

export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
