// The log is the one way state changes: propose(command) → durable (or replicated) → applied.
// Two backends share this interface: the embedded file log and (later) etcd.

import type { Command } from '../state/commands.js';
import type { StateImage } from '../state/image.js';

export interface LogEntry {
  index: number;
  command: Command;
}

export type Outcome = { ok: true; result: unknown } | { ok: false; error: Error };

/** What the log drives: the state machine plus whatever must react to applied entries. */
export interface FSM {
  readonly index: number;
  /** Applies entries in order; one outcome per entry. Never throws for a refused command. */
  applyBatch(entries: LogEntry[]): Outcome[];
  image(): StateImage;
  restore(img: StateImage): void;
}

export interface Applied {
  index: number;
  result: unknown;
}

export interface ConsensusLog {
  /** Loads what was persisted into the FSM; after this, propose() may be called. */
  open(): Promise<void>;
  /** Resolves once the command is durable and applied; rejects if the state machine refused it. */
  propose(command: Command): Promise<Applied>;
  /** Finishes in-flight writes, then closes files. */
  close(): Promise<void>;
  readonly durable: boolean;
}
