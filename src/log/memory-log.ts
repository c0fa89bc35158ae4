// The -dev log: commands apply immediately and live only in memory.

import type { Command } from '../state/commands.js';
import type { Applied, ConsensusLog, FSM } from './types.js';

export class MemoryLog implements ConsensusLog {
  readonly durable = false;
  private last = 0;
  private closed = false;

  constructor(private readonly fsm: FSM) {}

  async open(): Promise<void> {
    this.last = this.fsm.index;
  }

  async propose(command: Command): Promise<Applied> {
    if (this.closed) throw new Error('log is closed');
    const index = ++this.last;
    const [out] = this.fsm.applyBatch([{ index, command }]);
    if (!out!.ok) throw out!.error;
    return { index, result: out!.result };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
