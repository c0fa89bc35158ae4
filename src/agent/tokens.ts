// The agent's own ACL tokens (Consul's token.Store): default (requests without a token, DNS),
// agent (its own registrations and anti-entropy), agent_master (agent endpoints even when the
// servers cannot resolve tokens) and replication. Set from configuration and changed at run time
// with PUT /v1/agent/token/<name>; with acl.enable_token_persistence those changes are kept in
// <data_dir>/acl-tokens.json, which wins over configuration on the next start, as in Consul.
// Secrets are never logged.

import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { denyAll } from '../acl/authorizer.js';
import type { Authorizer } from '../acl/types.js';
import type { ACLConfig } from '../config/types.js';
import type { Resolved, TokenResolver } from '../http/acl.js';

export type AgentTokenName = 'default' | 'agent' | 'agent_master' | 'replication';

/** Path names of PUT /v1/agent/token/<name>, legacy ones included. */
export const TOKEN_PATHS: Record<string, AgentTokenName> = {
  default: 'default',
  acl_token: 'default',
  agent: 'agent',
  acl_agent_token: 'agent',
  agent_master: 'agent_master',
  acl_agent_master_token: 'agent_master',
  replication: 'replication',
  acl_replication_token: 'replication',
};

/** The persisted file's field names (Consul's persistedTokens). */
const FILE_FIELDS: Record<AgentTokenName, string> = { default: 'default', agent: 'agent', agent_master: 'agent_master', replication: 'replication' };
export const TOKENS_FILE = 'acl-tokens.json';

/** Secrets are compared as fixed-length digests, in constant time: lengths leak nothing either. */
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class AgentTokens {
  private readonly tokens = new Map<AgentTokenName, string>();
  /** What was set through the API (and loaded from the file): only these are persisted, as Consul. */
  private readonly persisted = new Map<AgentTokenName, string>();
  private readonly file: string | null;

  constructor(acl: ACLConfig, dataDir: string | null) {
    const t = acl.tokens;
    this.put('default', t.default);
    this.put('agent', t.agent);
    this.put('agent_master', t.agentMaster);
    this.put('replication', t.replication);
    this.file = acl.enableTokenPersistence && dataDir ? path.join(dataDir, TOKENS_FILE) : null;
    if (this.file) this.load(this.file);
  }

  private put(name: AgentTokenName, v: string | undefined): void {
    if (v) this.tokens.set(name, v);
    else this.tokens.delete(name);
  }

  private load(file: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`failed to read persisted ACL tokens from ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (typeof raw !== 'object' || raw === null) return;
    const rec = raw as Record<string, unknown>;
    for (const [name, field] of Object.entries(FILE_FIELDS) as [AgentTokenName, string][]) {
      const v = rec[field];
      if (typeof v === 'string' && v !== '') {
        this.tokens.set(name, v);
        this.persisted.set(name, v);
      }
    }
  }

  get(name: AgentTokenName): string {
    return this.tokens.get(name) ?? '';
  }

  /** The default token (requests without one, DNS); '' means anonymous. */
  get userToken(): string {
    return this.get('default');
  }

  /** The token the agent uses for itself, falling back to the default one, as Consul's AgentToken(). */
  get agentToken(): string {
    return this.get('agent') || this.get('default');
  }

  /** Every request is asked this once agent_master is set: the master's digest is kept, not remade. */
  isAgentMaster(secret: string): boolean {
    const m = this.tokens.get('agent_master');
    if (m === undefined || secret === '') return false;
    if (this.masterDigest?.of !== m) this.masterDigest = { of: m, digest: digest(m) };
    return timingSafeEqual(digest(secret), this.masterDigest.digest);
  }

  private masterDigest: { of: string; digest: Buffer } | null = null;

  /** Sets a token at once; persisted (mode 0600, written then renamed) when persistence is on. */
  set(name: AgentTokenName, value: string): void {
    this.put(name, value);
    if (!this.file) return;
    this.persisted.set(name, value);
    const out: Record<string, string> = {};
    for (const [n, v] of this.persisted) out[FILE_FIELDS[n]] = v;
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}

/**
 * What the agent_master token may do, resolved by the agent itself so it works even when the
 * servers cannot resolve tokens (Consul's agentMasterAuthorizer): agent write on this agent's
 * node and read on every node; nothing else.
 */
export function agentMasterAuthorizer(node: string): Authorizer {
  return { ...denyAll, agentRead: (n) => n === node, agentWrite: (n) => n === node, nodeRead: () => true, nodeReadAll: () => true };
}

/** The agent's view of tokens: its agent_master token locally, everything else through the ACL tables. */
export function agentResolver(tokens: AgentTokens, node: string, tables: TokenResolver): TokenResolver {
  const master: Resolved = { token: null, authz: agentMasterAuthorizer(node) };
  const prepare = tables.prepare?.bind(tables);
  return {
    resolve: (secret) => (tokens.isAgentMaster(secret) ? master : tables.resolve(secret)),
    // agent_master never waits for the servers: it works with none reachable.
    ...(prepare ? { prepare: (secret: string) => (tokens.isAgentMaster(secret) ? null : prepare(secret)) } : {}),
  };
}
