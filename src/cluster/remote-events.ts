// A client agent's user events: fired through a server, which stamps the Lamport time and
// delivers each event to every agent of the datacenter over a stream each agent keeps open
// (Consul: serf's gossip). A broken stream is reopened on the next server after a short pause.

import type { UserEvent } from '../events/user-event.js';
import { UserEventError, type EventBus } from '../events/user-events.js';
import type { Logger } from '../util/log.js';
import type { ServerPool } from './pool.js';
import { callServer } from './remote-writer.js';
import { RpcError } from './transport.js';

const RESUBSCRIBE_MS = 500;

export class RemoteEventBus implements EventBus {
  private readonly receivers = new Set<(e: UserEvent) => void>();
  private readonly stop = new AbortController();
  private running = false;

  constructor(
    private readonly pool: ServerPool,
    private readonly logger: Logger,
  ) {}

  async publish(event: UserEvent): Promise<void> {
    try {
      await callServer(this.pool, 'event.fire', { event });
    } catch (e) {
      // The server's refusal (serf's size limits) is the fire's error, as Consul answers it.
      if (e instanceof RpcError && e.status === 500) throw new UserEventError(e.message);
      throw e;
    }
  }

  subscribe(receiver: (e: UserEvent) => void): () => void {
    this.receivers.add(receiver);
    return () => this.receivers.delete(receiver);
  }

  /** Keeps the delivery stream open until close(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const c = this.pool.pick();
      if (c) {
        try {
          await c.stream('event.stream', null, (m) => this.deliver(m as UserEvent), signal);
        } catch (e) {
          this.logger.debug('event stream broke', { server: c.addr, error: (e as Error).message });
          this.pool.failed(c.addr);
        }
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, RESUBSCRIBE_MS).unref());
    }
  }

  private deliver(e: UserEvent): void {
    if (e.Payload !== null && !Buffer.isBuffer(e.Payload)) e.Payload = Buffer.from(e.Payload);
    for (const r of [...this.receivers]) r(e);
  }

  close(): void {
    this.stop.abort();
  }
}
