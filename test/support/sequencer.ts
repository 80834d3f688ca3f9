// The order the integration files start in. Two run at a time
// (vitest.config.ts), each taking the next file when it is done; were the
// longest file to start last, one worker would run it alone at the end while
// the other sat idle. So the files known to take longest go first, longest
// first (their times are in the run's own output); the rest keep vitest's
// order (the larger file first, or the longer one when vitest's results cache
// knows their times).
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The longest integration files, longest first. */
export const LONGEST = ['dib-elements', 'tripleo-elements', 'reproducible', 'faults', 'image-boot', 'local-archive', 'cache-rebuild'];

const rank = (spec: TestSpecification): number => {
  const i = LONGEST.indexOf(path.basename(spec.moduleId).replace(/\.root\.test\.ts$/, ''));
  return i === -1 ? LONGEST.length : i;
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: within one project and rank, the base order holds; projects keep their order too.
    const position = new Map(sorted.map((f, i) => [f, i]));
    return [...sorted].sort((a, b) => {
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0 || a.project.name !== b.project.name) return position.get(a)! - position.get(b)!;
      return rank(a) - rank(b) || position.get(a)! - position.get(b)!;
    });
  }
}
