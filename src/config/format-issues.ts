/**
 * Turns zod issues into sentences that name the field, what it must be and what it got:
 * `queue.requestsPerMinute must be a positive integer, got "fast"`.
 */
import type { z } from 'zod';
import { EXPECTATIONS } from './schema.js';

/** A value that looks like an Anthropic key is never echoed back, not even in an error. */
const KEY_LIKE = /sk-ant-[A-Za-z0-9_-]{6,}/;

function fieldLabel(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function expectationKey(path: readonly PropertyKey[]): string {
  return fieldLabel(path).replace(/\[\d+\]/g, '[]');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string' && KEY_LIKE.test(value)) return 'a value that looks like an API key (not shown)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (KEY_LIKE.test(text)) return 'a value that contains what looks like an API key (not shown)';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface FormatOptions {
  /** Where the value came from, appended in parentheses: `in /x/config.json`, `from --dir`. */
  sourceOf?: (field: string) => string | undefined;
}

function withSource(message: string, field: string, options: FormatOptions): string {
  const source = options.sourceOf?.(field);
  return source ? `${message} (${source})` : message;
}

export function formatIssues(
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
  options: FormatOptions = {},
): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const field = fieldLabel([...issue.path, key]);
        out.push(withSource(unknownFieldMessage(field, key), field, options));
      }
      continue;
    }
    const field = fieldLabel(issue.path);
    // A map's entries (sync.mimeTypes) are described by the map's own expectation.
    const expectation =
      EXPECTATIONS[expectationKey(issue.path)] ??
      EXPECTATIONS[expectationKey(issue.path.slice(0, -1))] ??
      issue.message;
    const label = field === '' ? 'the configuration' : field;
    out.push(
      withSource(`${label} must be ${expectation}, got ${describeValue(valueAt(input, issue.path))}`, field, options),
    );
  }
  return out;
}

function unknownFieldMessage(field: string, key: string): string {
  if (/^(api[_-]?key|key|token|secret)$/i.test(key)) {
    return `${field} is not a configuration field: the API key is never stored in the configuration; set ANTHROPIC_API_KEY or name a key file with api.apiKeyFile`;
  }
  return `${field} is not a known configuration field (see config.example.json)`;
}
