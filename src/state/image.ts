// The whole state as one value: the image a snapshot is made from and a restore rebuilds, and the
// chunks it is streamed as. Types only, so the state machine, the snapshot code and the log
// commands can all name them without importing each other.

import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLRole, ACLToken } from '../acl/types.js';
import type { ACLImage, ACLIndexes } from './acl.js';
import type { AutopilotConfig } from './autopilot.js';
import type { CatalogImage, CatalogIndexes } from './catalog.js';
import type { CatalogNode, HealthCheck, StoredService } from './catalog-types.js';
import type { Coordinate, CoordinatesImage } from './coordinates.js';
import type { KVTable } from './kv.js';
import type { MemberRow, MembersImage } from './members.js';
import type { QueriesImage } from './queries.js';
import type { PreparedQuery } from './query-types.js';
import type { SessionsImage } from './sessions.js';
import type { Session } from './types.js';

/** A consistent, immutable view of the whole state at one index (what snapshots are made from). */
export interface StateImage {
  index: number;
  kv: KVTable;
  catalog: CatalogImage;
  sessions: SessionsImage;
  acl: ACLImage;
  queries: QueriesImage;
  coordinates: CoordinatesImage;
  autopilot: { config: AutopilotConfig | null; index: number };
  members: MembersImage;
}

export type KVRow = [key: string, flags: string, value: Buffer | null, session: string, lockIndex: number, createIndex: number, modifyIndex: number];
export type TombRow = [key: string, index: number];

export interface Indexes {
  kv: number;
  sessions: number;
  catalog: Omit<CatalogIndexes, 'perService'> & { perService: [string, number][] };
  /** Absent in snapshots from before ACLs: empty tables then. */
  acl?: ACLIndexes;
  /** Absent in snapshots from before prepared queries. */
  queries?: number;
  /** Absent in snapshots from before coordinates and autopilot: empty then. */
  coordinates?: number;
  autopilot?: number;
  /** Absent in snapshots from before the member table: empty then. */
  members?: number;
}

export type SnapshotChunk =
  | { t: 'meta'; format: number; index: number; indexes: Indexes }
  | { t: 'kv'; rows: KVRow[] }
  | { t: 'tomb'; rows: TombRow[] }
  | { t: 'nodes'; rows: CatalogNode[] }
  | { t: 'services'; rows: StoredService[] }
  | { t: 'checks'; rows: HealthCheck[] }
  | { t: 'sessions'; rows: Session[] }
  | { t: 'acl-tokens'; rows: ACLToken[] }
  | { t: 'acl-policies'; rows: ACLPolicy[] }
  | { t: 'acl-roles'; rows: ACLRole[] }
  | { t: 'acl-auth-methods'; rows: ACLAuthMethod[] }
  | { t: 'acl-binding-rules'; rows: ACLBindingRule[] }
  | { t: 'queries'; rows: PreparedQuery[] }
  | { t: 'coordinates'; rows: Coordinate[] }
  | { t: 'autopilot'; rows: AutopilotConfig[] }
  | { t: 'members'; rows: MemberRow[] }
  | { t: 'end'; count: number };

