// One Debian docker-registry for a whole test file: started before its tests,
// stopped after them.
import { afterAll, beforeAll } from 'vitest';
import { startRegistry, type TestRegistry } from './registry.js';

export function useRegistry(): () => TestRegistry {
  let registry: TestRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });
  return () => registry!;
}
