import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readsOnlyItsInputs } from '../../../src/steps/keyed-extra-data.js';
import { scratchDir } from '../../support/run-dir.js';

const DIB = '/usr/lib/python3/dist-packages/diskimage_builder/elements';

describe('extra-data.d hooks that read only their inputs', () => {
  it("are DIB 3.13's reviewed ones, recognised by their bytes", () => {
    expect(readsOnlyItsInputs(path.join(DIB, 'pkg-map/extra-data.d/10-create-pkg-map-dir'))).toBe(true);
    expect(readsOnlyItsInputs(path.join(DIB, 'svc-map/extra-data.d/10-merge-svc-map-files'))).toBe(true);
    // devuser copies ~/.ssh/id_rsa.pub or DIB_DEV_USER_AUTHORIZED_KEYS's file: it reads the host.
    expect(readsOnlyItsInputs(path.join(DIB, 'devuser/extra-data.d/50-devuser'))).toBe(false);
  });

  it('an edited copy of a reviewed hook is not taken on trust', async () => {
    const copy = path.join(await scratchDir('keyed-extra-data'), '10-create-pkg-map-dir');
    await writeFile(copy, `${await readFile(path.join(DIB, 'pkg-map/extra-data.d/10-create-pkg-map-dir'), 'utf8')}cat ~/.netrc > "$TMP_HOOKS_PATH/netrc"\n`);
    expect(readsOnlyItsInputs(copy)).toBe(false);
  });
});
