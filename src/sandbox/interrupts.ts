// imgfactory's own SIGINT/SIGTERM while steps run: every running step is
// aborted (its group killed, its mounts undone), then the process exits with
// 130 or 143. The handlers exist only while at least one step runs, so
// outside of steps the process keeps its usual behaviour.
type Cleanup = () => Promise<void>;

const running = new Set<Cleanup>();
const EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };
let stopping = false;

function handle(signal: 'SIGINT' | 'SIGTERM'): void {
  if (stopping) return;
  stopping = true;
  void Promise.allSettled([...running].map((cleanup) => cleanup())).then(() => process.exit(EXIT[signal]));
}
const onInt = (): void => handle('SIGINT');
const onTerm = (): void => handle('SIGTERM');

/** Registers a step's abort-and-clean-up; returns the function that unregisters it. */
export function whileRunning(cleanup: Cleanup): () => void {
  if (running.size === 0) {
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  }
  running.add(cleanup);
  return () => {
    running.delete(cleanup);
    if (running.size === 0 && !stopping) {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  };
}
