import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

const shaders = new Map<string, string>();

/** The text of shaders/<name>, read once. */
export function shaderSource(name: string): string {
  let text = shaders.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'shaders', name), 'utf8');
    shaders.set(name, text);
  }
  return text;
}
