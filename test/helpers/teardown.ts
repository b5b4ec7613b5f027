/** The teardown the engine integration tests share: the test's harness closed, then its own cleanups. */
import { afterEach } from 'vitest';
import type { Harness } from './engine-harness.js';

export type Cleanup = () => Promise<void> | void;

/**
 * Registers an afterEach that closes the harness `take` hands over (and forgets: `take` clears the
 * test's variable), then runs the cleanups pushed onto the returned list, last first: an emulator
 * pushed before the proxy in front of it closes after it.
 */
export function harnessTeardown(take: () => Harness | null): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    await take()?.close();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
