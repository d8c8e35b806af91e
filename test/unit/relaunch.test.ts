import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hugePagesEnv, HUGETLB_TUNABLE, wantsHugePages, type HostFacts } from '../../src/cli/relaunch.js';

const ROOT = join(import.meta.dirname, '..', '..');
const linux: HostFacts = { platform: 'linux', glibc: '2.36', thp: 'always [madvise] never\n' };

describe('hugePagesEnv', () => {
  it('adds the tunable on Linux with glibc and THP in madvise or always mode, keeping other tunables', () => {
    expect(hugePagesEnv({ A: '1' }, linux)).toEqual({ A: '1', WORMSEAL_RELAUNCHED: '1', GLIBC_TUNABLES: HUGETLB_TUNABLE });
    expect(hugePagesEnv({}, { ...linux, thp: '[always] madvise never' })?.GLIBC_TUNABLES).toBe(HUGETLB_TUNABLE);
    expect(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, linux)?.GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${HUGETLB_TUNABLE}`);
  });

  it('does nothing where it cannot help, when already set or relaunched, or when turned off', () => {
    expect(hugePagesEnv({}, { ...linux, thp: 'always madvise [never]' })).toBeUndefined();
    expect(hugePagesEnv({}, { ...linux, thp: undefined })).toBeUndefined();
    expect(hugePagesEnv({}, { ...linux, glibc: undefined })).toBeUndefined(); // musl
    expect(hugePagesEnv({}, { ...linux, platform: 'darwin' })).toBeUndefined();
    expect(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, linux)).toBeUndefined();
    expect(hugePagesEnv({ GLIBC_TUNABLES: 'x=1:glibc.malloc.hugetlb=2' }, linux)).toBeUndefined();
    expect(hugePagesEnv({ WORMSEAL_RELAUNCHED: '1' }, linux)).toBeUndefined();
    expect(hugePagesEnv({ WORMSEAL_HUGEPAGES: '0' }, linux)).toBeUndefined();
  });
});

describe('wantsHugePages', () => {
  it('is true for verify and verify-bundle only, wherever their options are', () => {
    expect(wantsHugePages(['verify'])).toBe(true);
    expect(wantsHugePages(['verify', '--json'])).toBe(true);
    expect(wantsHugePages(['verify-bundle', '/tmp/b'])).toBe(true);
    expect(wantsHugePages(['--json', 'verify-bundle', '/tmp/b'])).toBe(true);
    for (const args of [[], ['seal'], ['worker'], ['verify-proof', 'verify'], ['--help'], ['ingest', 'verify']]) expect(wantsHugePages(args), args.join(' ')).toBe(false);
  });
});

/** Run the fixture command; resolve with its output, exit code and signal. `onChild` sees the relaunched child's line. */
function run(args: string[], onChild?: (parentPid: number, out: string) => void): Promise<{ out: string; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/relaunch-child.ts'), ...args], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) onChild?.(p.pid!, out);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ out, code, signal }));
  });
}

describe('relaunchWithHugePages', () => {
  it('runs the command once more, in a child with the tunable, and exits with its code', async () => {
    const r = await run(['exit', '3']);
    expect(r.out).toMatch(new RegExp(`^child \\d+ GLIBC_TUNABLES=${HUGETLB_TUNABLE.replace(/\./g, '\\.')}\\n$`));
    expect(r.code).toBe(3);
  });

  it('passes SIGTERM on to the child, and ends by the same signal', async () => {
    let childPid = 0;
    const r = await run(['wait'], (parent, out) => {
      childPid = Number(/^child (\d+)/.exec(out)?.[1]);
      process.kill(parent, 'SIGTERM');
    });
    expect(r.signal).toBe('SIGTERM');
    expect(childPid).toBeGreaterThan(0);
    expect(() => process.kill(childPid, 0)).toThrow(); // the child is gone too
  });
});
