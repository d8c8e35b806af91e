/**
 * Crash-test hook, read here at the CLI edge only: WORMSEAL_TEST_KILL_AT=<point> makes the process
 * SIGKILL itself at that point of the sealing protocol (FaultPoint) or of hold placement
 * (HoldFaultPoint). The integration tests use it to prove every point resumes cleanly; nothing else
 * should set it.
 */
export function faultsFromEnv(): ((point: string) => void) | undefined {
  const at = process.env.WORMSEAL_TEST_KILL_AT;
  if (!at) return undefined;
  return (point) => {
    if (point === at) process.kill(process.pid, 'SIGKILL');
  };
}
