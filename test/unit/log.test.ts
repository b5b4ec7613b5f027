import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/create-logger.js';
import { createRedactor, REDACTED } from '../../src/log/redactor.js';

const KEY = 'sk-ant-api03-Secret_Key-0123456789abcdef';

function capture(pretty = false, extra: string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    pretty,
    destination: { write: (s: string) => void lines.push(s) },
    redact: [KEY, ...extra],
  });
  return { logger, text: () => lines.join('') };
}

describe('createLogger', () => {
  it('writes JSON lines with a label level, a time and the message', () => {
    const { logger, text } = capture();
    logger.info({ path: 'a/b.txt', fileId: 'file_1', sizeBytes: 3 }, 'uploaded');
    const line = JSON.parse(text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', msg: 'uploaded', path: 'a/b.txt', fileId: 'file_1', sizeBytes: 3 });
    expect(typeof line.time).toBe('string');
  });

  it('respects the level', () => {
    const { text } = capture();
    const lines: string[] = [];
    const quiet = createLogger({
      level: 'warn',
      destination: { write: (s: string) => void lines.push(s) },
      redact: [],
    });
    quiet.info('hidden');
    quiet.warn('shown');
    expect(lines.join('')).toContain('shown');
    expect(lines.join('')).not.toContain('hidden');
    expect(text()).toBe('');
  });

  for (const pretty of [false, true]) {
    it(`never prints the key: message, nested field, known field, error message and stack (pretty=${pretty})`, () => {
      const { logger, text } = capture(pretty);
      logger.info(`key is ${KEY}`);
      logger.info({ deep: { deeper: [`x${KEY}y`] } }, 'nested');
      logger.info(
        {
          apiKey: 'another-secret-value',
          headers: { 'x-api-key': 'hdr-secret-value', authorization: 'Bearer tok-secret' },
        },
        'fields',
      );
      const err = new Error(`request failed with ${KEY}`);
      err.stack = `Error: request failed with ${KEY}\n    at somewhere (${KEY}.js:1:1)`;
      logger.error({ err }, 'failure');
      logger.error(err);
      logger.warn({ url: `http://127.0.0.1/?key=${encodeURIComponent(KEY)}` }, `%s then %o`, KEY, { k: KEY });
      const out = text();
      expect(out).not.toContain(KEY);
      expect(out).not.toContain('another-secret-value');
      expect(out).not.toContain('hdr-secret-value');
      expect(out).not.toContain('tok-secret');
      expect(out).toContain(REDACTED);
      expect(out).toContain('request failed with');
    });
  }

  it('pretty mode prints readable lines, not JSON', () => {
    const { logger, text } = capture(true);
    logger.info({ path: 'x.txt' }, 'uploaded');
    expect(text()).toContain('uploaded');
    expect(text().trim().startsWith('{')).toBe(false);
  });

  it('a shared redactor learns secrets added later (a generated key)', () => {
    const redactor = createRedactor();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (s: string) => void lines.push(s) },
      redact: [],
      redactor,
    });
    redactor.add('late-secret-42');
    logger.info('late-secret-42 appears');
    expect(lines.join('')).not.toContain('late-secret-42');
  });
});

describe('createRedactor', () => {
  it('replaces every occurrence, including the JSON-escaped form', () => {
    const r = createRedactor(['ab"cd\\ef']);
    expect(r.scrub('x ab"cd\\ef y ab"cd\\ef')).toBe(`x ${REDACTED} y ${REDACTED}`);
    expect(r.scrub(JSON.stringify({ v: 'ab"cd\\ef' }))).toBe(`{"v":"${REDACTED}"}`);
  });

  it('ignores empty, null and very short secrets', () => {
    const r = createRedactor(['', null, undefined, 'ab']);
    expect(r.size).toBe(0);
    expect(r.scrub('about ab')).toBe('about ab');
  });
});
