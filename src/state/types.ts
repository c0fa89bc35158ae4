// Records kept by the state machine. Every record is immutable once stored: a write replaces the
// object, so a cloned table (see snapshot) is a consistent point-in-time view.

export interface KVEntry {
  readonly key: string;
  /** uint64 as canonical decimal text (flags may use all 64 bits). */
  readonly flags: string;
  /** null for an empty value, as Consul shows it. */
  readonly value: Buffer | null;
  /** Session holding the lock, or '' when unlocked. */
  readonly session: string;
  readonly lockIndex: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export type SessionBehavior = 'release' | 'delete';

export interface ServiceCheckRef {
  ID: string;
  Namespace?: string;
}

/** structs.Session, as Consul shows it. */
export interface Session {
  ID: string;
  Name: string;
  Node: string;
  /** Nanoseconds. */
  LockDelay: number;
  Behavior: SessionBehavior;
  /** Go duration text ('' when the session has no TTL). */
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: ServiceCheckRef[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}
