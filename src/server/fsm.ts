// Binds the state machine to the log: applies entries, then wakes the blocking queries whose
// reads the entries touched.

import type { FSM, LogEntry, Outcome } from '../log/types.js';
import { ApplyError } from '../state/errors.js';
import type { StateImage } from '../state/image.js';
import { StateStore } from '../state/store.js';
import { ChangeSet, WatchHub } from '../state/watch.js';

export type AppliedListener = (entries: LogEntry[], outcomes: Outcome[], changes: ChangeSet) => void;

export class StateFSM implements FSM {
  readonly store = new StateStore();
  readonly hub = new WatchHub();
  private readonly listeners: AppliedListener[] = [];

  get index(): number {
    return this.store.index;
  }

  onApplied(fn: AppliedListener): void {
    this.listeners.push(fn);
  }

  applyBatch(entries: LogEntry[]): Outcome[] {
    const changes = new ChangeSet();
    const outcomes: Outcome[] = entries.map(({ index, command }) => {
      try {
        return { ok: true, result: this.store.apply(index, command, changes) };
      } catch (e) {
        if (e instanceof ApplyError) return { ok: false, error: e };
        // A bug, not a refusal: surface it, but the entry is consumed either way.
        return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
      }
    });
    for (const fn of this.listeners) fn(entries, outcomes, changes);
    // After a restore nothing a query read can be trusted: every blocked query answers now.
    if (changes.restored) this.hub.releaseAll();
    else this.hub.notify(changes);
    return outcomes;
  }

  image(): StateImage {
    return this.store.image();
  }

  restore(img: StateImage): void {
    this.store.restore(img);
  }
}
