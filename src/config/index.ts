// Agent configuration: flags and files → RuntimeConfig (see build.ts for the merge rules).

import { applySource, ConfigError, defaults, DEV_SOURCE, finish, type Source } from './build.js';
import { parseText, readDir, readFile } from './files.js';
import { agentUsage, parseFlags } from './flags.js';
import type { RuntimeConfig } from './types.js';

export { ConfigError, agentUsage };
export { parseHCL } from './hcl.js';

/** Loads the configuration for `tribune agent <argv>`; throws ConfigError with a printable message. */
export async function loadAgentConfig(argv: string[], opts: { requireDataDir?: boolean } = {}): Promise<{ config: RuntimeConfig; warnings: string[] }> {
  const flags = parseFlags(argv);
  const sources: Source[] = [];
  if (flags.dev) sources.push(DEV_SOURCE);
  for (const p of flags.configPaths) {
    if (p.kind === 'file') sources.push(readFile(p.path, flags.configFormat));
    else sources.push(...readDir(p.path, flags.configFormat));
  }
  flags.hcl.forEach((text, i) => sources.push(parseText(text, `-hcl fragment ${i + 1}`, 'hcl')));
  sources.push({ name: 'command line flags', data: flags.data });
  const warnings: string[] = [];
  const config = defaults();
  config.devMode = flags.dev;
  for (const s of sources) applySource(config, s, warnings);
  return { config: finish(config, opts, warnings), warnings };
}

/** Builds a configuration from an in-memory object over the defaults (tests, embedding). */
export function configFromObject(obj: Record<string, unknown>, opts: { dev?: boolean } = {}): RuntimeConfig {
  const config = defaults();
  config.devMode = opts.dev ?? false;
  const warnings: string[] = [];
  if (opts.dev) applySource(config, DEV_SOURCE, warnings);
  applySource(config, { name: 'object', data: obj }, warnings);
  return finish(config);
}
