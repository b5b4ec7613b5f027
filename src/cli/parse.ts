import { InvalidArgumentError } from 'commander';

/** Option parsers: commander prints `error: option '--port <n>' argument 'x' is invalid. <why>` and we exit 2. */
export function parseNonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`Expected a non-negative integer, got "${value}".`);
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`Expected a port from 0 to 65535, got "${value}".`);
  return n;
}
