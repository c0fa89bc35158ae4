// KV entries as Consul shapes them, encoded by hand: this is the hottest read path.

import type { KVEntry } from '../state/types.js';

export function kvEntryJSON(e: KVEntry, withValue = true): string {
  const value = withValue && e.value !== null ? `"${e.value.toString('base64')}"` : 'null';
  const session = e.session !== '' ? `,"Session":${JSON.stringify(e.session)}` : '';
  return `{"LockIndex":${e.lockIndex},"Key":${JSON.stringify(e.key)},"Flags":${e.flags},"Value":${value}${session},"CreateIndex":${e.createIndex},"ModifyIndex":${e.modifyIndex}}`;
}

export function kvEntriesJSON(entries: readonly KVEntry[]): string {
  let out = '[';
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) out += ',';
    out += kvEntryJSON(entries[i]!);
  }
  return out + ']';
}
