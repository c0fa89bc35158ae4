// Commands are what the log carries: plain data, applied deterministically by the state machine.

import type { CatalogNode, DeregisterRequest, HealthCheck, NodeService, RegisterRequest } from './catalog-types.js';
import type { SnapshotChunk } from './image.js';
import type { Session } from './types.js';
import type { PreparedQueryInput } from './query-types.js';
import type { Coordinate } from './coordinates.js';
import type { AutopilotConfigInput } from './autopilot.js';
import type { MemberInput } from './members.js';
import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLRole, ACLToken } from '../acl/types.js';

export type KVVerb = 'set' | 'cas' | 'lock' | 'unlock' | 'delete' | 'delete-cas' | 'delete-tree';

/** A single KV write, as PUT/DELETE /v1/kv produce it. */
export interface KVOp {
  verb: KVVerb;
  key: string;
  flags?: string;
  value?: Buffer | null;
  session?: string;
  /** The CAS index for cas / delete-cas. */
  index?: number;
}

/** One KV operation inside /v1/txn, any verb Consul accepts (reads included). */
export interface TxnKVOp {
  verb: string;
  key: string;
  flags: string;
  value: Buffer | null;
  session: string;
  index: number;
}

/** A catalog or session operation inside /v1/txn (Consul's Node, Service, Check and Session ops). */
export type TxnCatalogOp =
  | { kind: 'node'; verb: string; node: Omit<CatalogNode, 'CreateIndex' | 'ModifyIndex'>; index: number }
  | { kind: 'service'; verb: string; node: string; service: Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>; index: number }
  | { kind: 'check'; verb: string; check: Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>; index: number }
  | { kind: 'session'; verb: string; id: string };

/** KV operations carry no `kind` (the original, and most common, shape). */
export type TxnOp = TxnKVOp | TxnCatalogOp;

export const isCatalogOp = (op: TxnOp): op is TxnCatalogOp => 'kind' in op;

export type Command =
  | { type: 'noop' }
  | { type: 'kv'; op: KVOp }
  | { type: 'txn'; ops: TxnOp[] }
  | { type: 'tombstone-reap'; upTo: number }
  | { type: 'register'; req: RegisterRequest }
  | { type: 'deregister'; req: DeregisterRequest }
  | { type: 'session-create'; session: Omit<Session, 'CreateIndex' | 'ModifyIndex'> }
  | { type: 'session-destroy'; id: string }
  /** PUT /v1/snapshot: the whole state replaced by a saved one, through the log. */
  | { type: 'restore'; chunks: SnapshotChunk[] }
  // ACLs: IDs, secrets, times and hashes are decided before proposing; indexes are the log's.
  | { type: 'acl-token-set'; token: ACLTokenInput }
  | { type: 'acl-token-delete'; accessorIDs: string[] }
  /** Refused once a bootstrap happened; records the index it happened at. */
  | { type: 'acl-bootstrap'; token: ACLTokenInput }
  /** Deletes tokens expired before `now` (RFC 3339, the leader's clock: apply reads none). */
  | { type: 'acl-tokens-reap'; now: string }
  | { type: 'acl-policy-set'; policy: ACLPolicyInput }
  | { type: 'acl-policy-delete'; ids: string[] }
  | { type: 'acl-role-set'; role: ACLRoleInput }
  | { type: 'acl-role-delete'; ids: string[] }
  | { type: 'acl-auth-method-set'; method: ACLAuthMethodInput }
  /** Also deletes the method's binding rules and the tokens it created. */
  | { type: 'acl-auth-method-delete'; name: string }
  | { type: 'acl-binding-rule-set'; rule: ACLBindingRuleInput }
  | { type: 'acl-binding-rule-delete'; ids: string[] }
  /** Prepared queries: the ID is decided before proposing (create) or taken from the path (update). */
  | { type: 'query-set'; query: PreparedQueryInput; update: boolean }
  | { type: 'query-delete'; id: string }
  /** Coordinates the server collected over one period (newest per node and segment). */
  | { type: 'coordinate-batch'; coords: Coordinate[] }
  /** `cas`: only over that ModifyIndex; `ifMissing`: the leader's initial defaults. */
  | { type: 'autopilot-set'; config: AutopilotConfigInput; cas?: number; ifMissing?: boolean }
  /** The leader's view of one LAN member (the whole row, its status and when it was decided). */
  | { type: 'member-upsert'; member: MemberInput }
  /** A member reaped, pruned or gone past its tombstone time. */
  | { type: 'member-remove'; name: string };

export type ACLTokenInput = Omit<ACLToken, 'CreateIndex' | 'ModifyIndex'>;
export type ACLPolicyInput = Omit<ACLPolicy, 'CreateIndex' | 'ModifyIndex'>;
export type ACLRoleInput = Omit<ACLRole, 'CreateIndex' | 'ModifyIndex'>;
export type ACLAuthMethodInput = Omit<ACLAuthMethod, 'CreateIndex' | 'ModifyIndex'>;
export type ACLBindingRuleInput = Omit<ACLBindingRule, 'CreateIndex' | 'ModifyIndex'>;

export type CommandType = Command['type'];
