// Reads configuration files and directories (JSON or HCL) into sources, in Consul's order:
// a directory's *.json and *.hcl files in lexical order.

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Source } from './build.js';
import { checkJSONDepth, HCLParseError, parseHCL } from './hcl.js';

export type Format = 'json' | 'hcl';

export function parseText(text: string, name: string, format: Format): Source {
  // Consul skips a source with no data at all (ErrNoData), e.g. a file created for a later reload.
  if (text === '') return { name, data: {} };
  if (format === 'hcl') {
    try {
      return { name, data: parseHCL(text, name) };
    } catch (e) {
      if (e instanceof HCLParseError) throw new ConfigError(`Error parsing ${name}: ${e.message}`);
      throw e;
    }
  }
  let data: unknown;
  try {
    checkJSONDepth(text, name);
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`Error parsing ${name}: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(`Error parsing ${name}: the top level must be an object`);
  return { name, data: data as Record<string, unknown> };
}

function formatOf(file: string, forced: Format | null): Format | null {
  if (forced) return forced;
  if (file.endsWith('.json')) return 'json';
  if (file.endsWith('.hcl')) return 'hcl';
  return null;
}

export function readFile(file: string, forced: Format | null): Source {
  const format = formatOf(file, forced);
  if (!format) throw new ConfigError(`Error parsing ${file}: unknown format, use -config-format=json or hcl, or a .json/.hcl extension`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`Error reading ${file}: ${(e as Error).message}`);
  }
  return parseText(text, file, format);
}

export function readDir(dir: string, forced: Format | null): Source[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new ConfigError(`Error reading ${dir}: ${(e as Error).message}`);
  }
  return names
    .sort()
    .filter((n) => formatOf(n, null) !== null && fs.statSync(path.join(dir, n)).isFile())
    .map((n) => readFile(path.join(dir, n), forced));
}
