// Prepared query templates (Consul's agent/consul/prepared_query): every string in the Service
// part is a HIL template over name.full, name.prefix, name.suffix, agent.segment and match(N),
// N being a group of the template's Regexp matched against the name asked for. The regexp runs
// on the linear-time engine: names come from DNS clients, patterns from API clients.

import { HILError, interpolateHIL } from '../acl/hil.js';
import { compileGoRegexp, findSubmatch, GoRegexpError, type GoRegexp } from '../util/go-regexp.js';
import type { PreparedQuery, ServiceQuery } from './query-types.js';

export const NAME_PREFIX_MATCH = 'name_prefix_match';

export class TemplateError extends Error {}

export interface CompiledTemplate {
  query: PreparedQuery;
  re: GoRegexp | null;
}

/** Calls `fn` on every string of the Service part with its Go field path (".Tags[0]", ".NodeMeta[k]"), replacing it by the result. */
function mapStrings(svc: ServiceQuery, fn: (path: string, v: string) => string): ServiceQuery {
  const list = (name: string, xs: string[] | null): string[] | null => (xs === null ? null : xs.map((x, i) => fn(`.${name}[${i}]`, x)));
  const map = (name: string, m: Record<string, string> | null): Record<string, string> | null => {
    if (m === null) return null;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[k] = fn(`.${name}[${k}]`, v);
    return out;
  };
  return {
    Service: fn('.Service', svc.Service),
    Failover: { NearestN: svc.Failover.NearestN, Datacenters: list('Failover.Datacenters', svc.Failover.Datacenters) },
    OnlyPassing: svc.OnlyPassing,
    IgnoreCheckIDs: list('IgnoreCheckIDs', svc.IgnoreCheckIDs),
    Near: fn('.Near', svc.Near),
    Tags: list('Tags', svc.Tags),
    NodeMeta: map('NodeMeta', svc.NodeMeta),
    ServiceMeta: map('ServiceMeta', svc.ServiceMeta),
    Connect: svc.Connect,
  };
}

const hilMessage = (e: unknown): string => (e instanceof HILError ? e.message : String(e));

/** Compile: the type, every string's syntax and the regexp are checked, then a test render with the bare prefix. */
export function compileTemplate(q: PreparedQuery): CompiledTemplate {
  if (q.Template.Type !== NAME_PREFIX_MATCH) throw new TemplateError(`Bad Template.Type '${q.Template.Type}'`);
  // HIL parse errors: evaluating with every variable bound reports exactly the syntax errors.
  const probe = { 'name.full': '', 'name.prefix': '', 'name.suffix': '', 'agent.segment': '' };
  mapStrings(q.Service, (path, v) => {
    try {
      return interpolateHIL(v, probe, false, { match: () => '' });
    } catch (e) {
      // Unknown names are evaluation errors in HIL: the test render below reports them.
      if (/unknown (variable accessed|function called)/.test(hilMessage(e))) return v;
      throw new TemplateError(`Bad format '${v}' in Service${path}: ${hilMessage(e)}`);
    }
  });
  let re: GoRegexp | null = null;
  if (q.Template.Regexp !== '') {
    try {
      re = compileGoRegexp(q.Template.Regexp);
    } catch (e) {
      throw new TemplateError(`Bad Regexp: ${e instanceof GoRegexpError ? e.message : String(e)}`);
    }
  }
  const ct = { query: q, re };
  renderTemplate(ct, q.Name, '');
  return ct;
}

/** Renders the template for the name asked for (DNS: lower-cased, as Consul asks). */
export function renderTemplate(ct: CompiledTemplate, name: string, segment: string): PreparedQuery {
  const q = ct.query;
  const matches = ct.re ? (findSubmatch(ct.re, name) ?? []) : [];
  const vars = { 'name.full': name, 'name.prefix': q.Name, 'name.suffix': name.startsWith(q.Name) ? name.slice(q.Name.length) : name, 'agent.segment': segment };
  const match = (i: number): string => (i >= 0 && i < matches.length ? matches[i]! : '');
  const svc = mapStrings(q.Service, (path, v) => {
    try {
      return interpolateHIL(v, vars, false, { match });
    } catch (e) {
      throw new TemplateError(`Bad evaluation for '${v}' in Service${path}: ${hilMessage(e)}`);
    }
  });
  if (q.Template.RemoveEmptyTags && svc.Tags) svc.Tags = svc.Tags.filter((t) => t !== '');
  return { ...q, Service: svc };
}
