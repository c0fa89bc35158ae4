// A CLI verb's flags as values (see util/go-flags for the syntax), with the verb's errors.

import { type FlagDef, FlagError, FlagHelpRequested, scanFlags } from '../util/go-flags.js';

export { type FlagDef, type FlagKind, flagsHelp } from '../util/go-flags.js';

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {}

/** -h / -help: the flags' help, printed to stdout with exit code 0. */
export class HelpRequested extends Error {}

export function parseCommandFlags(argv: string[], defs: Record<string, FlagDef>): { flags: FlagValues; args: string[] } {
  let scanned: ReturnType<typeof scanFlags>;
  try {
    scanned = scanFlags(argv, defs);
  } catch (e) {
    if (e instanceof FlagHelpRequested) throw new HelpRequested(e.message);
    if (e instanceof FlagError) throw new UsageError(e.message);
    throw e;
  }
  const flags: FlagValues = {};
  for (const [k, d] of Object.entries(defs)) if (d.default !== undefined) flags[k] = d.default;
  for (const { name, value } of scanned.uses) {
    const kind = defs[name]!.kind;
    if (kind === 'bool') flags[name] = value === 'true';
    else if (kind === 'int') flags[name] = Number(value);
    else if (kind === 'list') flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return { flags, args: scanned.args };
}
