// Routes paths to handlers with find-my-way (a radix router) on bare node:http; a path known under
// other methods answers 405 with an Allow header, as Consul does. Every method of every path
// declares the ACL rule it needs (http/acl.ts) in the same table: a route without one does not
// compile, and the table can be listed (routes()) so tests cover every route.

import FindMyWay from 'find-my-way';
import type { AclRule } from './acl.js';
import type { Ctx } from './context.js';
import { methodNotAllowed } from './errors.js';
import type { Reply } from './reply.js';

export type Handler = (ctx: Ctx) => Promise<Reply | null> | Reply | null;

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD' | 'PATCH' | 'OPTIONS';

/** One method of a route: the permission it needs and what answers it. */
export interface Endpoint {
  acl: AclRule;
  handler: Handler;
}

export type Methods = Partial<Record<Method, Endpoint>>;

interface Route {
  methods: Methods;
  allow: string[];
  /** The registered pattern (metrics label). */
  pattern: string;
}

export interface Found {
  endpoint: Endpoint;
  params: Record<string, string | undefined>;
  pattern: string;
}

export class Router {
  private readonly fmw = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 4096 });
  private readonly table = new Map<string, Route>();

  /** Registers one path pattern (find-my-way syntax: `/v1/kv/*`, `/v1/session/info/:id`). */
  on(path: string, methods: Methods): void {
    // The types demand a rule; this catches casts and plain-JS callers.
    for (const [m, e] of Object.entries(methods)) if (!e?.acl) throw new Error(`route ${m} ${path} declares no ACL rule`);
    let route = this.table.get(path);
    if (!route) {
      route = { methods: {}, allow: [], pattern: path };
      this.table.set(path, route);
      // Every path is registered under GET only; the method is resolved against route.methods.
      this.fmw.on('GET', path, () => undefined, route);
    }
    Object.assign(route.methods, methods);
    route.allow = Object.keys(route.methods);
  }

  /** Finds the endpoint for a raw (still escaped) path; throws 405 for a known path and another method. */
  find(method: string, rawPath: string): Found | null {
    const found = this.fmw.find('GET', rawPath);
    if (!found) return null;
    const route = found.store as Route;
    const endpoint = route.methods[method as Method];
    if (!endpoint) throw methodNotAllowed(method, route.allow);
    return { endpoint, params: found.params, pattern: route.pattern };
  }

  /** Every registered (pattern, method, rule), for tests over the whole route table. */
  routes(): { pattern: string; method: Method; acl: AclRule }[] {
    const out: { pattern: string; method: Method; acl: AclRule }[] = [];
    for (const r of this.table.values()) {
      for (const [m, e] of Object.entries(r.methods) as [Method, Endpoint][]) out.push({ pattern: r.pattern, method: m, acl: e.acl });
    }
    return out;
  }
}
