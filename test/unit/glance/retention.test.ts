// Which images retention keeps and deletes: the newest N usable ones by the
// time publish made them (ms, not Glance's seconds), the one just published
// always, unfinished uploads from before this run as leaks, newer ones left.
import { describe, expect, it } from 'vitest';
import type { GlanceImage } from '../../../src/glance/images.js';
import { planRetention } from '../../../src/glance/retention.js';

const img = (id: string, status: string, at: string): GlanceImage => ({
  id,
  name: id,
  status,
  checksum: null,
  os_hash_algo: null,
  os_hash_value: null,
  size: null,
  created_at: `${at.slice(0, 19)}Z`, // Glance's seconds: equal for images made in one second
  imgfactory_published_at: at,
});
const ids = (l: GlanceImage[]): string[] => l.map((i) => i.id);
const START = '2026-01-01T00:00:10.000Z';

describe('planRetention', () => {
  it('keeps the newest N by publish time, even within one second, and retires the rest', () => {
    const images = [img('a', 'active', '2026-01-01T00:00:01.100Z'), img('c', 'active', '2026-01-01T00:00:01.300Z'), img('b', 'active', '2026-01-01T00:00:01.200Z'), img('d', 'deactivated', '2026-01-01T00:00:00.500Z')];
    const p = planRetention(images, { keep: 2, startedAt: START });
    expect([ids(p.kept), ids(p.retire)]).toEqual([['c', 'b'], ['a', 'd']]);
  });

  it('keeps the image just published first, whatever its time says', () => {
    const images = [img('new', 'active', '2026-01-01T00:00:00.000Z'), img('x', 'active', '2026-01-01T00:00:05.000Z')];
    expect(ids(planRetention(images, { keep: 1, startedAt: START, current: 'new' }).kept)).toEqual(['new']);
  });

  it('finds unfinished uploads from before this run (and killed ones) as leaks, and leaves newer ones alone', () => {
    const images = [
      img('queued-old', 'queued', '2026-01-01T00:00:01.000Z'),
      img('saving-old', 'saving', '2026-01-01T00:00:02.000Z'),
      img('importing-old', 'importing', '2026-01-01T00:00:03.000Z'),
      img('uploading-old', 'uploading', '2026-01-01T00:00:04.000Z'),
      img('killed', 'killed', '2026-01-01T00:00:20.000Z'),
      img('saving-new', 'saving', '2026-01-01T00:00:11.000Z'),
      img('kept', 'active', '2026-01-01T00:00:00.000Z'),
    ];
    const p = planRetention(images, { keep: null, startedAt: START });
    expect(ids(p.leaked)).toEqual(['queued-old', 'saving-old', 'importing-old', 'uploading-old', 'killed']);
    expect(ids(p.inFlight)).toEqual(['saving-new']);
    expect([ids(p.kept), ids(p.retire)]).toEqual([['kept'], []]);
  });

  it('never counts the upload in progress as a leak', () => {
    expect(planRetention([img('mine', 'importing', '2026-01-01T00:00:01.000Z')], { keep: 1, startedAt: START, current: 'mine' }).leaked).toEqual([]);
  });
});
