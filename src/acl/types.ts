// The shapes the ACL system shares: parsed policy rules, the Authorizer every request is checked
// with, and the stored objects (tokens, policies, roles, auth methods, binding rules) as Consul's
// API shows them. The pure parts (rules, resolver) live beside this file; the tables live in
// state/acl.ts and change only through the log; the HTTP layer resolves a token to an Authorizer
// once per request (http/acl.ts).

/** A rule's access level. `list` only means something for `key` rules. */
export type Access = 'deny' | 'read' | 'list' | 'write';

/** One `<resource> "<name>" { policy = "…" }` (or `<resource>_prefix`) rule. */
export interface Rule {
  /** The exact name, or the prefix for a `_prefix` rule ("" matches everything). */
  name: string;
  prefix: boolean;
  policy: Access;
  /** service rules only: `intentions = "…"`. */
  intentions?: Access;
}

/** A policy's rules, parsed from HCL or JSON (Consul's acl.Policy / PolicyRules). */
export interface PolicyRules {
  acl?: Access;
  operator?: Access;
  keyring?: Access;
  mesh?: Access;
  agent: Rule[];
  event: Rule[];
  key: Rule[];
  node: Rule[];
  query: Rule[];
  service: Rule[];
  session: Rule[];
}

/**
 * What a token may do. One method per resource and access, as Consul's acl.Authorizer; each
 * answers for one name (exact rule, else the longest prefix, else the default policy).
 */
export interface Authorizer {
  aclRead(): boolean;
  aclWrite(): boolean;
  agentRead(node: string): boolean;
  agentWrite(node: string): boolean;
  eventRead(name: string): boolean;
  eventWrite(name: string): boolean;
  keyRead(key: string): boolean;
  /** `list` access on a prefix (KV `?keys` / `?recurse` with acl_enable_key_list_policy). */
  keyList(prefix: string): boolean;
  keyWrite(key: string): boolean;
  /** Write on every key under the prefix: no deny rule below it (delete-tree, recursive delete). */
  keyWritePrefix(prefix: string): boolean;
  keyringRead(): boolean;
  keyringWrite(): boolean;
  nodeRead(name: string): boolean;
  /** Read on every node (no deny anywhere below the default). */
  nodeReadAll(): boolean;
  nodeWrite(name: string): boolean;
  operatorRead(): boolean;
  operatorWrite(): boolean;
  preparedQueryRead(name: string): boolean;
  preparedQueryWrite(name: string): boolean;
  serviceRead(name: string): boolean;
  serviceReadAll(): boolean;
  serviceWrite(name: string): boolean;
  sessionRead(node: string): boolean;
  sessionWrite(node: string): boolean;
  /** Snapshot save/restore: management only (acl = "write"). */
  snapshot(): boolean;
}

export interface PolicyLink {
  ID: string;
  Name: string;
}

export interface ServiceIdentity {
  ServiceName: string;
  Datacenters?: string[];
}

export interface NodeIdentity {
  NodeName: string;
  Datacenter: string;
}

/** A token as stored (and, SecretID aside, as shown). */
export interface ACLToken {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies: PolicyLink[];
  Roles: PolicyLink[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Local: boolean;
  AuthMethod: string;
  /** RFC 3339; '' for a token that does not expire. */
  ExpirationTime: string;
  /** The TTL as given at creation (Go duration text), '' when none. */
  ExpirationTTL: string;
  CreateTime: string;
  Hash: string;
  /** Legacy tokens (/v1/acl/create): 'client' or 'management', and their own rules. */
  Type: '' | 'client' | 'management';
  Rules: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ACLPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters: string[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ACLRole {
  ID: string;
  Name: string;
  Description: string;
  Policies: PolicyLink[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ACLAuthMethod {
  Name: string;
  Type: string;
  DisplayName: string;
  Description: string;
  MaxTokenTTL: string;
  TokenLocality: string;
  Config: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ACLBindingRule {
  ID: string;
  Description: string;
  AuthMethod: string;
  Selector: string;
  BindType: 'service' | 'node' | 'role';
  BindName: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What token resolution reads from the ACL tables (state/acl.ts implements it). */
export interface ACLReader {
  /** Index of the last change to any ACL table (caches of resolved tokens key on it). */
  readonly index: number;
  tokenBySecret(secret: string): ACLToken | undefined;
  policy(id: string): ACLPolicy | undefined;
  role(id: string): ACLRole | undefined;
}

/** Well-known IDs Consul creates. */
export const ANONYMOUS_TOKEN_ID = '00000000-0000-0000-0000-000000000002';
export const GLOBAL_MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';
