/**
 * Fires `onTimeout` when nothing moved for `ms`: no byte sent, no header or byte received. A
 * progress timer rather than a wall-clock one, so a slow 500 MB upload is not killed while it
 * moves, and a server that stops answering is given up on after `ms` in any phase.
 */
export class ProgressTimer {
  #timer: NodeJS.Timeout | undefined;
  #ms: number;
  #onTimeout: () => void;
  fired = false;
  constructor(ms: number, onTimeout: () => void) {
    this.#ms = ms;
    this.#onTimeout = onTimeout;
    this.touch();
  }
  touch = (): void => {
    if (this.fired) return;
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.#onTimeout();
    }, this.#ms);
  };
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
