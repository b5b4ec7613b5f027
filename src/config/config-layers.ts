/** A configuration layer (the file, the environment or the flags) and how layers combine. */
import { ConfigError } from '../errors.js';
import { formatIssues } from './format-issues.js';
import { expandPath } from './paths.js';
import { fileConfigSchema, type FileConfig } from './schema.js';

/** One layer's values and where each field came from, for messages. */
export type Layer = { values: FileConfig; source: (field: string) => string };

export function validateLayer(raw: unknown, source: (field: string) => string, errors: string[]): FileConfig | null {
  const parsed = fileConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  errors.push(...formatIssues(raw, parsed.error.issues, { sourceOf: source }));
  return null;
}

export function configErrorOf(errors: string[]): ConfigError {
  const message = errors.length === 1 ? errors[0]! : `invalid configuration:\n  ${errors.join('\n  ')}`;
  return new ConfigError(message, { hint: 'see config.example.json for every field and its default' });
}

export function expandLayerPaths(layer: FileConfig, base: string, homedir: string): FileConfig {
  const out: FileConfig = { ...layer };
  if (out.dir !== undefined) out.dir = expandPath(out.dir, base, homedir);
  if (out.stateDir !== undefined) out.stateDir = expandPath(out.stateDir, base, homedir);
  if (out.api?.apiKeyFile !== undefined && out.api.apiKeyFile !== null)
    out.api = { ...out.api, apiKeyFile: expandPath(out.api.apiKeyFile, base, homedir) };
  return out;
}

/** Later layers win, field by field (arrays are replaced, not concatenated). */
export function mergeLayers(layers: FileConfig[]): FileConfig {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined || key === '$comment') continue;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const prev = (out[key] as Record<string, unknown> | undefined) ?? {};
        const next: Record<string, unknown> = { ...prev };
        for (const [k, v] of Object.entries(value)) if (v !== undefined && k !== '$comment') next[k] = v;
        out[key] = next;
      } else {
        out[key] = value;
      }
    }
  }
  return out as FileConfig;
}

export function has(layer: FileConfig, field: string): boolean {
  let cur: unknown = layer;
  for (const seg of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) return false;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur !== undefined;
}

/** Drops undefined leaves and then empty objects, so an unset variable is no value at all. */
export function prune(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const inner = prune(v as Record<string, unknown>);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}
