// Routes paths to handlers with find-my-way (a radix router) on bare node:http; a path known under
// other methods answers 405 with an Allow header, as Consul does.

import FindMyWay from 'find-my-way';
import type { Ctx } from './context.js';
import { methodNotAllowed } from './errors.js';
import type { Reply } from './reply.js';

export type Handler = (ctx: Ctx) => Promise<Reply | null> | Reply | null;

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD' | 'PATCH' | 'OPTIONS';
export type Methods = Partial<Record<Method, Handler>>;

interface Route {
  methods: Methods;
  allow: string[];
  /** The registered pattern (metrics label). */
  pattern: string;
}

export class Router {
  private readonly fmw = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 4096 });
  private readonly routes = new Map<string, Route>();

  /** Registers handlers for one path pattern (find-my-way syntax: `/v1/kv/*`, `/v1/session/info/:id`). */
  on(path: string, methods: Methods): void {
    let route = this.routes.get(path);
    if (!route) {
      route = { methods: {}, allow: [], pattern: path };
      this.routes.set(path, route);
      // Every path is registered under GET only; the method is resolved against route.methods.
      this.fmw.on('GET', path, () => undefined, route);
    }
    Object.assign(route.methods, methods);
    route.allow = Object.keys(route.methods);
  }

  /** Finds the handler for a raw (still escaped) path; throws 405 for a known path and another method. */
  find(method: string, rawPath: string): { handler: Handler; params: Record<string, string | undefined>; pattern: string } | null {
    const found = this.fmw.find('GET', rawPath);
    if (!found) return null;
    const route = found.store as Route;
    const handler = route.methods[method as Method];
    if (!handler) throw methodNotAllowed(method, route.allow);
    return { handler, params: found.params, pattern: route.pattern };
  }
}
