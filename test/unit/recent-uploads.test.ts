import { describe, expect, it } from 'vitest';
import { APIUserAbortError } from '../../src/api/errors.js';
import { RecentUploadsLookup } from '../../src/api/recent-uploads.js';
import type { RecentFiles } from '../../src/api/types.js';

const page = (n: number): RecentFiles => ({
  files: [
    {
      id: `file_${n}`,
      filename: `f${n}`,
      size_bytes: n,
      created_at: new Date(0).toISOString(),
    } as RecentFiles['files'][number],
  ],
  complete: true,
});

describe('recent uploads lookup', () => {
  it('answers every caller that asks within the window with one listing', async () => {
    let sent = 0;
    const lookup = new RecentUploadsLookup(async () => page(++sent), 20);
    const answers = await Promise.all([lookup.newest(), lookup.newest(), lookup.newest(), lookup.newest()]);
    expect(sent).toBe(1);
    expect(lookup.listings).toBe(1);
    for (const a of answers) expect(a).toEqual(page(1));
  });

  it('never answers a caller with a listing that was sent before it asked', async () => {
    let release!: () => void;
    let sent = 0;
    const lookup = new RecentUploadsLookup(async () => {
      sent += 1;
      const n = sent;
      if (n === 1) await new Promise<void>((r) => (release = r));
      return page(n);
    }, 5);
    const first = lookup.newest();
    while (sent === 0) await new Promise((r) => setTimeout(r, 1));
    // The first listing is on the wire: a later caller gets a listing of its own.
    const second = lookup.newest();
    release();
    expect(await first).toEqual(page(1));
    expect(await second).toEqual(page(2));
    expect(sent).toBe(2);
  });

  it('a caller that gives up does not cancel the listing for the others, and a failure reaches every caller', async () => {
    const ok = new RecentUploadsLookup(async () => page(1), 10);
    const ctl = new AbortController();
    const gaveUp = ok.newest(ctl.signal);
    const stays = ok.newest();
    ctl.abort();
    await expect(gaveUp).rejects.toBeInstanceOf(APIUserAbortError);
    expect(await stays).toEqual(page(1));

    const failing = new RecentUploadsLookup(async () => {
      throw new Error('listing failed');
    }, 10);
    const results = await Promise.allSettled([failing.newest(), failing.newest()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failing.listings).toBe(1);
  });
});
