export { scanTree, type ScanOptions, type ScanResult, type ScanStats, type ScanError, type SkippedEntry } from './scanner.js';
export { checkPath, type CheckPathOptions, type CheckPathResult } from './check-path.js';
export { createIgnoreMatcher, DEFAULT_IGNORES, type IgnoreMatcher, type IgnoreMatcherOptions } from './ignore.js';
export { hashFile, type HashFunction, type HashOptions, type FileHash } from './hash.js';
