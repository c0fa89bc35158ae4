// The leader's ACL duties, as Consul's initializeACLs and token reaping: on leadership create the
// global-management policy, the master token (as the bootstrap, when bootstrap is still
// allowed) and the anonymous token; then turn token expiry (wall-clock time) into log commands.

import { goTime, policyHash, tokenHash } from '../acl/hash.js';
import { ANONYMOUS_SECRET } from '../acl/resolve.js';
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID } from '../acl/types.js';
import type { RuntimeConfig } from '../config/types.js';
import { tokenExpired, type ACLTables } from '../state/acl.js';
import type { ACLTokenInput, Command } from '../state/commands.js';
import { generateUUID } from '../util/ids.js';
import type { Logger } from '../util/log.js';

export const GLOBAL_MANAGEMENT_NAME = 'global-management';
export const GLOBAL_MANAGEMENT_DESCRIPTION = 'Builtin Policy that grants unlimited access';
// Consul's ACLPolicyGlobalManagement rules text (1.10), byte for byte: its Hash depends on it.
export const GLOBAL_MANAGEMENT_RULES = `
acl = "write"
agent_prefix "" {
	policy = "write"
}
event_prefix "" {
	policy = "write"
}
key_prefix "" {
	policy = "write"
}
keyring = "write"
node_prefix "" {
	policy = "write"
}
operator = "write"
query_prefix "" {
	policy = "write"
}
service_prefix "" {
	policy = "write"
	intentions = "write"
}
session_prefix "" {
	policy = "write"
}`;

export interface ACLLeaderOptions {
  config: RuntimeConfig;
  acl: () => ACLTables;
  propose: (c: Command) => Promise<unknown>;
  logger: Logger;
  reapIntervalMs?: number;
}

/** A new token with every field set (the rest defaulted), its Hash computed. */
export function newToken(fields: Partial<ACLTokenInput> & Pick<ACLTokenInput, 'AccessorID' | 'SecretID'>): ACLTokenInput {
  const t: ACLTokenInput = {
    Description: '',
    Policies: [],
    Roles: [],
    ServiceIdentities: [],
    NodeIdentities: [],
    Local: false,
    AuthMethod: '',
    ExpirationTime: '',
    ExpirationTTL: '',
    CreateTime: goTime(Date.now()),
    Hash: '',
    Type: '',
    Rules: '',
    ...fields,
  };
  t.Hash = tokenHash(t);
  return t;
}

export class ACLLeader {
  private timer: NodeJS.Timeout | null = null;
  private reaping = false;

  constructor(private readonly opts: ACLLeaderOptions) {}

  async start(): Promise<void> {
    await this.initialize();
    this.schedule();
  }

  /** Consul's order: the policy, then the master token, then the anonymous token. */
  private async initialize(): Promise<void> {
    const { config, propose } = this.opts;
    if (!this.opts.acl().policy(GLOBAL_MANAGEMENT_POLICY_ID)) {
      const policy = { ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: GLOBAL_MANAGEMENT_NAME, Description: GLOBAL_MANAGEMENT_DESCRIPTION, Rules: GLOBAL_MANAGEMENT_RULES, Datacenters: [], Hash: '' };
      policy.Hash = policyHash(policy);
      await propose({ type: 'acl-policy-set', policy });
      this.opts.logger.info('created ACL global-management policy');
    }
    const master = config.acl.tokens.master;
    if (master && !this.opts.acl().tokenBySecret(master)) {
      const token = newToken({ AccessorID: generateUUID(), SecretID: master, Description: 'Master Token', Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: '' }], Type: 'management' });
      // As Consul: the master token is the bootstrap when bootstrap is still possible.
      const cmd: Command = this.opts.acl().idx.bootstrap === 0 ? { type: 'acl-bootstrap', token } : { type: 'acl-token-set', token };
      await propose(cmd);
      this.opts.logger.info('created ACL master token');
    }
    if (!this.opts.acl().tokenBySecret(ANONYMOUS_SECRET)) {
      await propose({ type: 'acl-token-set', token: newToken({ AccessorID: ANONYMOUS_TOKEN_ID, SecretID: ANONYMOUS_SECRET, Description: 'Anonymous Token' }) });
      this.opts.logger.info('created ACL anonymous token');
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.reap().finally(() => {
        if (this.timer) this.schedule();
      });
    }, this.opts.reapIntervalMs ?? 30_000);
    this.timer.unref();
  }

  /** Proposes a reap when some token has expired by the leader's clock. */
  async reap(now = Date.now()): Promise<void> {
    if (this.reaping) return;
    const acl = this.opts.acl();
    let any = false;
    for (const t of acl.tokenList().value) {
      if (tokenExpired(t, now)) {
        any = true;
        break;
      }
    }
    if (!any) return;
    this.reaping = true;
    try {
      await this.opts.propose({ type: 'acl-tokens-reap', now: new Date(now).toISOString() });
    } catch (e) {
      this.opts.logger.warn('ACL token reap failed', { error: (e as Error).message });
    } finally {
      this.reaping = false;
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
