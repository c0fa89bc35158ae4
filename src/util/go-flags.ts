// Go's flag syntax, as Consul's commands (and `consul agent`) take it: -name value, -name=value,
// --name, booleans without a value (or =true/=false, any form strconv.ParseBool accepts); flags
// stop at the first non-flag or "--". The agent's flags and every CLI verb's are read with it.

import { goBool } from './strconv.js';

export type FlagKind = 'string' | 'bool' | 'int' | 'list';

export interface FlagDef {
  kind: FlagKind;
  help: string;
  default?: string | boolean | number;
}

/** A malformed command line; the message is Go's flag package text. */
export class FlagError extends Error {}

/** -h / -help where no such flag is defined. */
export class FlagHelpRequested extends Error {}

/** One flag as it appeared on the command line: bools as 'true' / 'false'. */
export interface FlagUse {
  name: string;
  value: string;
}

/** The flags in command-line order (repeats kept), and the arguments after them. */
export function scanFlags(argv: string[], defs: Record<string, FlagDef>): { uses: FlagUse[]; args: string[] } {
  const uses: FlagUse[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = defs[name];
    if (!def && (name === 'h' || name === 'help')) throw new FlagHelpRequested(flagsHelp(defs));
    if (!def) throw new FlagError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (def.kind === 'bool') {
      const b = value === undefined ? true : goBool(value);
      if (b === null) throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`);
      uses.push({ name, value: String(b) });
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[++i] ?? '';
    }
    if (def.kind === 'int' && !/^-?\d+$/.test(value)) throw new FlagError(`invalid value ${JSON.stringify(value)} for flag -${name}: parse error`);
    uses.push({ name, value });
  }
  return { uses, args: argv.slice(i) };
}

/** The flags of a command, one block each, as Go's flag package prints them. */
export function flagsHelp(defs: Record<string, FlagDef>): string {
  const lines = ['Options:', ''];
  for (const [k, d] of Object.entries(defs)) lines.push(`  -${k}${d.kind === 'bool' ? '' : '=<value>'}`, `     ${d.help}`, '');
  return lines.join('\n');
}
