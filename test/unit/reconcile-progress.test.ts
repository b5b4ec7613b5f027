import { describe, expect, it } from 'vitest';
import { formatReconcileProgress } from '../../src/cli/format.js';
import { ReconcileProgress } from '../../src/engine/reconcile-progress.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');

describe('reconcile progress for status', () => {
  it('goes listing, scanning, planning, applying, with pages, files and jobs done of total', () => {
    const p = new ReconcileProgress(T0);
    expect(p.report(T0)).toMatchObject({
      phase: 'listing',
      listing: { pages: 0, files: 0, done: false },
      scan: { files: 0, done: false },
      apply: null,
    });
    p.listed(2_500);
    p.scanned(40_000);
    expect(p.report(T0 + 4_200)).toMatchObject({
      phase: 'listing',
      elapsedMs: 4_200,
      listing: { pages: 2, files: 2_500 },
      scan: { files: 40_000 },
    });
    p.listingDone();
    expect(p.report(T0)).toMatchObject({ phase: 'scanning', listing: { pages: 3, done: true } });
    p.scanDone();
    p.planning();
    expect(p.report(T0).phase).toBe('planning');
    p.applying(3, 2);
    p.uploadDone();
    p.deleteDone();
    p.uploadDone();
    expect(p.report(T0).apply).toEqual({ uploadsDone: 2, uploadsTotal: 3, deletesDone: 1, deletesTotal: 2 });
  });

  it('an empty listing took one page', () => {
    const p = new ReconcileProgress(T0);
    p.listingDone();
    expect(p.report(T0).listing).toEqual({ pages: 1, files: 0, done: true });
  });

  it('reads for people in each phase', () => {
    const p = new ReconcileProgress(T0);
    p.listed(12_000);
    p.scanned(40_311);
    expect(formatReconcileProgress(p.report(T0 + 4_200))).toBe(
      'reconcile: listing (changes sync meanwhile): listing 12 pages (12,000 remote files), 40,311 local files scanned so far, 4.2 s so far',
    );
    p.applying(10, 1);
    p.uploadDone();
    expect(formatReconcileProgress(p.report(T0 + 5_000))).toBe(
      'reconcile: applying: 1 of 10 uploads, 0 of 1 deletes done, 5.0 s so far',
    );
  });
});
