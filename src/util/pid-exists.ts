// Whether a process with a given pid exists (in this pid namespace): signal 0
// probes without sending anything; EPERM means it exists but is not ours.
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
