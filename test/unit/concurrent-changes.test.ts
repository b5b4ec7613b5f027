/**
 * What the engine records while a reconcile pass runs (src/engine/concurrent-changes.ts): the
 * watcher path's paths are handed to the planner as handled; the uploads the pass itself queued
 * from its early batches (src/reconcile/pipeline.ts) are not, or every one of them would be
 * handed back to the watcher path and checked again once the plan is in.
 */
import { describe, expect, it } from 'vitest';
import { ConcurrentRecorder } from '../../src/engine/concurrent-changes.js';

describe('recording what happens beside a reconcile pass', () => {
  it('an upload job started for a path the pass decided early is not a change handled beside it', () => {
    const r = new ConcurrentRecorder();
    r.begin(1000, new Set());
    r.own('early.txt');
    r.uploading('early.txt');
    r.uploading('watched.txt');
    expect([...(r.facts()?.handled ?? [])]).toEqual(['watched.txt']);
  });

  it('a change the watcher path handles on a path the pass decided early is still recorded', () => {
    const r = new ConcurrentRecorder();
    r.begin(1000, new Set());
    r.own('early.txt');
    r.handled(['early.txt']);
    expect(r.facts()?.handled.has('early.txt')).toBe(true);
  });

  it('records nothing once the pass has ended', () => {
    const r = new ConcurrentRecorder();
    r.begin(1000, new Set());
    r.end();
    r.own('a.txt');
    r.uploading('b.txt');
    expect(r.facts()).toBeUndefined();
  });
});
