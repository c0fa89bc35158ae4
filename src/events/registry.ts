// One UserEvents per agent. The HTTP endpoints find it through the agent's server; whoever builds
// the agent may attach its own first (for instance one sharing a multi-agent EventBus).

import type { UserEvents } from './user-events.js';

const byOwner = new WeakMap<object, UserEvents>();

/** Attaches `events` to `owner` (the agent's Server), replacing any earlier one. */
export function attachUserEvents(owner: object, events: UserEvents): void {
  byOwner.set(owner, events);
}

/** The UserEvents attached to `owner`, creating it with `create` on first use. */
export function userEventsFor(owner: object, create: () => UserEvents): UserEvents {
  let ev = byOwner.get(owner);
  if (!ev) {
    ev = create();
    byOwner.set(owner, ev);
  }
  return ev;
}

export function existingUserEvents(owner: object): UserEvents | undefined {
  return byOwner.get(owner);
}
