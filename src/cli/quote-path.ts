/**
 * File names in human output, quoted as git's core.quotePath and `ls -b` do: a name is a string
 * anyone can choose, and a newline in it forges a row of `ls`, an escape sequence drives the
 * terminal. JSON output needs none of this (JSON escapes control characters itself).
 */

// C0, DEL, C1, lone surrogates, and the bidirectional overrides that reorder what a terminal shows.
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what must not reach a terminal
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\u000b': '\\v',
  '\f': '\\f',
  '\r': '\\r',
};

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  // Octal for C0 and DEL, as git prints them; \u for the rest, which are not single bytes.
  if (code < 0x80) return `\\${code.toString(8).padStart(3, '0')}`;
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function hasUnsafe(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}

/**
 * The name as it is when it holds nothing unsafe; else in double quotes with C escapes, `"` and
 * `\` escaped too so the quoted form reads back unambiguously. A name that starts with `"` is
 * quoted as well, so it cannot pass for a quoted one.
 */
export function quotePath(name: string): string {
  if (!hasUnsafe(name) && !name.startsWith('"')) return name;
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeOne)}"`;
}

/** A message that may hold a name (an error with a path in it): controls escaped, nothing quoted. */
export function escapeControls(text: string): string {
  return hasUnsafe(text) ? text.replace(UNSAFE, escapeOne) : text;
}
