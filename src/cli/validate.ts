// `tribune validate PATH...`: load configuration files and directories as the agent would,
// without starting anything.

import fs from 'node:fs';
import { ConfigError, loadAgentConfig } from '../config/index.js';
import { parseCommandFlags, UsageError } from './flags.js';
import type { Output } from './output.js';

export async function validateCommand(argv: string[], out: Output): Promise<number> {
  const { flags, args } = parseCommandFlags(argv, {
    quiet: { kind: 'bool', help: 'Print nothing on success.' },
    'config-format': { kind: 'string', help: 'Parse every file as json or hcl.' },
  });
  if (args.length === 0) throw new UsageError('Must specify at least one config file or directory');
  const loadArgs: string[] = [];
  if (flags['config-format']) loadArgs.push('-config-format', flags['config-format'] as string);
  for (const p of args) {
    const isDir = fs.existsSync(p) && fs.statSync(p).isDirectory();
    loadArgs.push(isDir ? '-config-dir' : '-config-file', p);
  }
  try {
    const { warnings } = await loadAgentConfig(loadArgs, { requireDataDir: false });
    for (const w of warnings) out.stderr(`${w}\n`);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out.stderr(`Config validation failed: ${e.message}\n`);
    return 1;
  }
  if (flags.quiet !== true) out.stdout('Configuration is valid!\n');
  return 0;
}
