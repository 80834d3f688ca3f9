// The order os-refresh-config's post-configure.d runs the elements' scripts in
// (dib-run-parts: by name, across every element of the image): Keystone is
// restarted and every service's user registered before any other service
// restarts. The services authenticate with those users at start, and
// nova-conductor and nova-scheduler exit when Placement's credentials are
// refused: with the register last, the controller's first refresh failed at
// Nova's restart and never reached it (bench/RESULTS.md, issue 15).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ELEMENTS = path.join(import.meta.dirname, '..', '..', '..', 'elements');

/** Every element's post-configure.d scripts, as `{ element, script }`, in the order dib-run-parts runs them. */
async function postConfigure(): Promise<{ element: string; script: string }[]> {
  const found: { element: string; script: string }[] = [];
  for (const element of await readdir(ELEMENTS)) {
    const dir = path.join(ELEMENTS, element, 'os-refresh-config', 'post-configure.d');
    for (const script of await readdir(dir).catch(() => [])) found.push({ element, script });
  }
  return found.sort((a, b) => (a.script < b.script ? -1 : a.script > b.script ? 1 : 0));
}

describe('post-configure.d order', () => {
  it("restarts Keystone, then registers the services' users, before any other service restarts", async () => {
    const order = await postConfigure();
    const keystone = order.filter((s) => s.element === 'keystone').map((s) => s.script);
    expect(keystone).toEqual(['50-keystone', '55-keystone-register']);
    const others = order.filter((s) => s.element !== 'keystone');
    expect(others.length).toBeGreaterThan(10);
    for (const s of others) expect(s.script > '55-keystone-register', `${s.element}/${s.script}`).toBe(true);
  });
});
