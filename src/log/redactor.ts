/**
 * Value-level scrubbing of secrets: any text that contains a secret (a message, a nested field,
 * an error's stack, a status line) has it replaced before it reaches an output. pino's path
 * redaction covers the fields we know; this covers everything else, because a key can hide in
 * an error message or a URL nobody thought of.
 */
export const REDACTED = '[REDACTED]';

/** Shorter strings would turn ordinary words into [REDACTED]; real keys are far longer. */
const MIN_SECRET_LENGTH = 4;

export interface Redactor {
  /** Adds a secret (a key read later, a generated one). Ignores empty and very short strings. */
  add(secret: string | null | undefined): void;
  /** The text with every secret (raw or JSON-escaped) replaced by [REDACTED]. */
  scrub(text: string): string;
  readonly size: number;
}

export function createRedactor(secrets: readonly (string | null | undefined)[] = []): Redactor {
  const needles = new Set<string>();
  const add = (secret: string | null | undefined): void => {
    if (!secret || secret.length < MIN_SECRET_LENGTH) return;
    needles.add(secret);
    // As it appears inside a JSON string (a key with a quote or backslash in it).
    needles.add(JSON.stringify(secret).slice(1, -1));
  };
  for (const s of secrets) add(s);
  return {
    add,
    scrub(text: string): string {
      if (needles.size === 0) return text;
      let out = text;
      for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
      return out;
    },
    get size() {
      return needles.size;
    },
  };
}
