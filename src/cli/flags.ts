// Go's flag syntax for the CLI commands, as Consul's commands take them: -name value,
// -name=value, --name, booleans without a value; flags stop at the first non-flag or "--".

export type FlagKind = 'string' | 'bool' | 'int' | 'list';

export interface FlagDef {
  kind: FlagKind;
  help: string;
  default?: string | boolean | number;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {}

/** -h / -help: the flags' help, printed to stdout with exit code 0. */
export class HelpRequested extends Error {}

export function parseCommandFlags(argv: string[], defs: Record<string, FlagDef>): { flags: FlagValues; args: string[] } {
  const flags: FlagValues = {};
  for (const [k, d] of Object.entries(defs)) if (d.default !== undefined) flags[k] = d.default;
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
    if (!def && (name === 'h' || name === 'help')) throw new HelpRequested(flagsHelp(defs));
    if (!def) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (def.kind === 'bool') {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) throw new UsageError(`invalid boolean value ${JSON.stringify(value)} for -${name}`);
      flags[name] = value === undefined || value === 'true' || value === '1';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i] ?? '';
    }
    if (def.kind === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid value ${JSON.stringify(value)} for flag -${name}: parse error`);
      flags[name] = Number(value);
    } else if (def.kind === 'list') {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else {
      flags[name] = value;
    }
  }
  return { flags, args: argv.slice(i) };
}

/** The flags of a command, one block each, as Go's flag package prints them. */
export function flagsHelp(defs: Record<string, FlagDef>): string {
  const lines = ['Options:', ''];
  for (const [k, d] of Object.entries(defs)) lines.push(`  -${k}${d.kind === 'bool' ? '' : '=<value>'}`, `     ${d.help}`, '');
  return lines.join('\n');
}
