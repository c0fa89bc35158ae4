// An agent's user events: firing (Consul's Agent.UserEvent), delivery through an EventBus to every
// agent of the datacenter (Consul: serf gossip, which also stamps the Lamport time), filtering
// against this agent, and the ring of recent events /v1/event/list reads.

import { generateUUID } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import { EventBuffer } from './store.js';
import { eventIsForAgent, REMOTE_EXEC_NAME, serfSizeError, USER_EVENT_VERSION, validateUserEvent, type LocalIdentity, type UserEvent } from './user-event.js';

/** A refused fire; the message is Consul's (answered as a 500). */
export class UserEventError extends Error {}

/**
 * How user events reach every agent of the datacenter. The bus stamps each event with its
 * Lamport time and delivers it to every subscribed agent, the sender included.
 */
export interface EventBus {
  /** Broadcasts an event; rejects with UserEventError (serf's size limits) when it cannot be sent. */
  publish(event: UserEvent): Promise<void>;
  /** Registers an agent's receiver; returns a function that unregisters it. */
  subscribe(receiver: (event: UserEvent) => void): () => void;
}

/**
 * Delivery inside one process: every subscriber (one agent, or several agents sharing the bus)
 * receives every event synchronously, before publish resolves.
 */
export class LocalEventBus implements EventBus {
  private readonly receivers = new Set<(event: UserEvent) => void>();

  /**
   * serf's event clock. A freshly started Consul 1.10 dev agent stamped its first user event with
   * LTime 2 (reference transcript), so the clock starts there.
   */
  constructor(private clock = 2) {}

  async publish(event: UserEvent): Promise<void> {
    const ltime = this.clock;
    const tooBig = serfSizeError(event, ltime);
    if (tooBig) throw new UserEventError(tooBig);
    this.clock++;
    const delivered: UserEvent = { ...event, LTime: ltime };
    for (const r of [...this.receivers]) r(delivered);
  }

  subscribe(receiver: (event: UserEvent) => void): () => void {
    this.receivers.add(receiver);
    return () => this.receivers.delete(receiver);
  }
}

export interface FireParams {
  name: string;
  payload: Buffer | null;
  nodeFilter: string;
  serviceFilter: string;
  tagFilter: string;
}

export class UserEvents {
  readonly buffer = new EventBuffer();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly local: LocalIdentity,
    readonly bus: EventBus = new LocalEventBus(),
    private readonly logger?: Logger,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.receive(e));
  }

  /** validateUserEventParams, then a fresh ID and the protocol version; throws UserEventError. */
  prepare(p: FireParams): UserEvent {
    const e: UserEvent = {
      ID: '',
      Name: p.name,
      Payload: p.payload && p.payload.length > 0 ? p.payload : null,
      NodeFilter: p.nodeFilter,
      ServiceFilter: p.serviceFilter,
      TagFilter: p.tagFilter,
      Version: 0,
      LTime: 0,
    };
    const invalid = validateUserEvent(e);
    if (invalid) throw new UserEventError(invalid);
    e.ID = generateUUID();
    e.Version = USER_EVENT_VERSION;
    return e;
  }

  /** Sends a prepared event to the datacenter. The event object itself keeps LTime 0, as Consul answers it. */
  async publish(e: UserEvent): Promise<void> {
    await this.bus.publish(e);
  }

  /** handleEvents: an event delivered to this agent is kept if it passes the agent's filters. */
  receive(e: UserEvent): void {
    if (e.Version > USER_EVENT_VERSION) this.logger?.warn(`Event version ${e.Version} may have unsupported features (${e.Name})`);
    if (!eventIsForAgent(e, this.local)) return;
    if (e.Name === REMOTE_EXEC_NAME) {
      this.logger?.info('ignoring remote exec event, not supported', { id: e.ID });
      return;
    }
    this.logger?.debug('new event', { name: e.Name, id: e.ID });
    this.buffer.add(e);
  }

  /** Recent events, oldest first, optionally only those named `name`. */
  list(name = ''): UserEvent[] {
    const all = this.buffer.list();
    return name === '' ? all : all.filter((e) => e.Name === name);
  }

  close(): void {
    this.unsubscribe();
    this.buffer.releaseAll();
  }
}
