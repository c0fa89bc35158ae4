// Answers one DNS question from the state store, as Consul 1.10's DNS server does for the
// lookups Tribune serves: service (A/AAAA/SRV, healthy instances only, shuffled), node
// (A/AAAA, node meta as TXT), addr, reverse (PTR) and the domain's SOA. Pure over the store:
// the server module owns sockets, EDNS and truncation.

import { isIP } from 'node:net';
import type { Answer, RecordType, SoaAnswer } from 'dns-packet';
import type { Authorizer } from '../acl/types.js';
import type { DNSConfig } from '../config/types.js';
import type { CatalogNode, HealthCheck, NodeService } from '../state/catalog-types.js';
import type { CatalogTables } from '../state/catalog.js';
import { parseDuration } from '../util/duration.js';
import { insideDomain, ipToHex, normalize, parseLookup, parseReverse, sameIP } from './query.js';

export interface DnsContext {
  catalog: CatalogTables;
  /** The agent's datacenter and domain ("consul."). */
  datacenter: string;
  domain: string;
  /** dns_config: only_passing, TTLs, record limits, SOA. */
  dns: DNSConfig;
  /**
   * With ACLs on, the Authorizer of the agent's default token (else anonymous): as in Consul,
   * nodes and services it may not read are not answered. null with ACLs off.
   */
  authz?: Authorizer | null;
  /** Clock for the SOA serial; tests pin it. */
  now?: () => number;
  /** Executes the prepared query `<name>.query.<domain>` names; absent: no such names. */
  preparedQuery?: PreparedQueryDNS;
  /**
   * The same with failover to other datacenters (it may ask them): the DNS server awaits it
   * before resolving, and the answer then comes from what it found.
   */
  preparedQueryAsync?: (name: string) => Promise<ReturnType<PreparedQueryDNS>>;
}

/** A prepared query's results for DNS: null when no query matches, 'error' when it fails to run. */
export type PreparedQueryDNS = (name: string) => { service: string; ttl: string; instances: Instance[]; /** Where they were found, when not here (failover). */ datacenter?: string } | null | 'error';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NOTIMP';

export interface Resolution {
  rcode: Rcode;
  /** False for names outside the domain, which this server does not own. */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** service_ttl: the exact name, else the longest matching "prefix*" entry, else "*". */
export function serviceTTL(dns: DNSConfig, service: string): number {
  const exact = dns.serviceTTL[service];
  if (exact !== undefined) return exact;
  let best: [number, number] | null = null;
  for (const [pattern, ttl] of Object.entries(dns.serviceTTL)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (service.startsWith(prefix) && (!best || prefix.length > best[0])) best = [prefix.length, ttl];
  }
  return best ? best[1] : 0;
}

/**
 * Go's uint32(x) and uint16(x): what Consul's DNS server does with TTLs (`uint32(ttl /
 * time.Second)`), SRV ports and weights (`uint16(port)`, `uint16(weight)`): the value wraps
 * modulo 2^32 / 2^16 instead of failing. A stored value (from any client, an older data dir or
 * a snapshot) therefore never makes an answer unencodable; non-numbers count as 0.
 */
export function goUint32(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? Math.trunc(x) >>> 0 : 0;
}

export function goUint16(x: unknown): number {
  return goUint32(x) & 0xffff;
}

/** findWeight: Weights.Warning for an instance with a warning check, Weights.Passing otherwise. */
function srvWeight(svc: NodeService, warning: boolean): number {
  // Weights is always set by registration, but a stored value from elsewhere may lack it.
  const w = svc.Weights as NodeService['Weights'] | null | undefined;
  return goUint16(w ? (warning ? w.Warning : w.Passing) : 1);
}

/** A question's type: a record type, or ANY (255), which dns-packet decodes but does not type. */
export type QType = RecordType | 'ANY';

function soa(ctx: DnsContext): SoaAnswer {
  const d = normalize(ctx.domain);
  const c = ctx.dns.soa;
  return {
    type: 'SOA',
    name: d,
    ttl: goUint32(c.minTTL),
    data: {
      mname: `ns.${d}`,
      rname: `hostmaster.${d}`,
      serial: Math.floor((ctx.now?.() ?? Date.now()) / 1000) >>> 0,
      refresh: goUint32(c.refresh),
      retry: goUint32(c.retry),
      expire: goUint32(c.expire),
      minimum: goUint32(c.minTTL),
    },
  };
}

const empty = (rcode: Rcode, ctx: DnsContext | null): Resolution => ({ rcode, authoritative: ctx !== null, answers: [], authorities: ctx ? [soa(ctx)] : [], additionals: [] });

/** An answer in the domain: authoritative, with the SOA as authority when there are no records. */
function found(ctx: DnsContext, answers: Answer[], additionals: Answer[] = []): Resolution {
  return { rcode: 'NOERROR', authoritative: true, answers, authorities: answers.length === 0 ? [soa(ctx)] : [], additionals };
}

/** A or AAAA for an address, if the question type wants it. */
function addressRecord(name: string, ip: string, qtype: QType, ttl: number): Answer | null {
  const family = isIP(ip);
  if (family === 4 && (qtype === 'A' || qtype === 'ANY' || qtype === 'TXT' || qtype === 'SRV')) return { type: 'A', name, ttl, data: ip };
  if (family === 6 && (qtype === 'AAAA' || qtype === 'ANY' || qtype === 'TXT' || qtype === 'SRV')) return { type: 'AAAA', name, ttl, data: ip };
  return null;
}

/** Node meta as TXT, `key=value` (or the bare value for rfc1035- keys), as generateMeta. */
function metaRecords(name: string, node: CatalogNode, ttl: number): Answer[] {
  return Object.entries(node.Meta ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => ({ type: 'TXT', name, ttl, data: k.startsWith('rfc1035-') ? v : `${k}=${v}` }));
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** The instance's checks (node-level and its own), as the health endpoint pairs them. */
function instanceChecks(cat: CatalogTables, node: string, serviceID: string): HealthCheck[] {
  const out: HealthCheck[] = [];
  cat.forNodeChecks(node, (c) => {
    if (c.ServiceID === '' || c.ServiceID === serviceID) out.push(c);
  });
  return out;
}

export interface Instance {
  node: CatalogNode;
  svc: NodeService;
  checks: HealthCheck[];
}

function healthyInstances(ctx: DnsContext, service: string, tag: string, connect: boolean): Instance[] {
  const cat = ctx.catalog;
  const out: Instance[] = [];
  // The catalog matches service names case-insensitively, as DNS needs.
  for (const { node: nodeName, svc } of connect ? cat.connectInstances(service) : cat.instances(service)) {
    const node = cat.node(nodeName);
    if (!node) continue;
    if (ctx.authz && !(ctx.authz.serviceRead(svc.Service) && ctx.authz.nodeRead(nodeName))) continue;
    if (tag !== '' && !svc.Tags.some((t) => t.toLowerCase() === tag)) continue;
    const checks = instanceChecks(cat, nodeName, svc.ID);
    const healthy = checks.every((c) => c.Status === 'passing' || (!ctx.dns.onlyPassing && c.Status === 'warning'));
    if (healthy) out.push({ node, svc, checks });
  }
  return out;
}

/**
 * Consul's nameservers(): an NS record per healthy `consul` server of this datacenter (at most
 * three, shuffled, names that are not DNS labels skipped) and each one's address as glue.
 */
function nameservers(ctx: DnsContext): { ns: Answer[]; glue: Answer[] } {
  const domain = normalize(ctx.domain);
  const ttl = goUint32(ctx.dns.nodeTTL);
  const ns: Answer[] = [];
  const glue: Answer[] = [];
  for (const { node } of shuffle(healthyInstances(ctx, 'consul', '', false))) {
    if (/[^A-Za-z0-9-]/.test(node.Node)) continue;
    const fqdn = `${node.Node}.node.${node.Datacenter || ctx.datacenter}.${domain}`.toLowerCase();
    ns.push({ type: 'NS', name: domain, ttl, data: fqdn });
    const a = addressRecord(fqdn, node.Address, 'ANY', ttl);
    if (a) glue.push(a);
    if (ns.length >= 3) break;
  }
  return { ns, glue };
}

function serviceLookup(ctx: DnsContext, qname: string, qtype: QType, service: string, tag: string, connect = false): Resolution {
  const instances = healthyInstances(ctx, service, tag, connect);
  if (instances.length === 0) return empty('NXDOMAIN', ctx);
  return instanceRecords(ctx, qname, qtype, shuffle(instances), goUint32(serviceTTL(ctx.dns, instances[0]?.svc.Service ?? service)));
}

/** <query>.query: the query's results in the order it gave them, with its DNS.TTL or service_ttl. */
function preparedQueryLookup(ctx: DnsContext, qname: string, qtype: QType, name: string): Resolution {
  const out = ctx.preparedQuery?.(name) ?? null;
  if (out === 'error') return { rcode: 'SERVFAIL', authoritative: true, answers: [], authorities: [], additionals: [] };
  if (out === null || out.instances.length === 0) return empty('NXDOMAIN', ctx);
  let ttl = serviceTTL(ctx.dns, out.service);
  if (out.ttl !== '') {
    try {
      ttl = Math.floor(parseDuration(out.ttl) / 1e9);
    } catch {
      ttl = 0; // vetted when stored; Consul ignores a TTL it cannot parse
    }
  }
  return instanceRecords(ctx, qname, qtype, out.instances, goUint32(ttl), out.datacenter);
}

/** A, AAAA or SRV records (with their additionals) for instances, in the order given. */
function instanceRecords(ctx: DnsContext, qname: string, qtype: QType, instances: Instance[], ttl: number, datacenter?: string): Resolution {
  const limit = ctx.dns.aRecordLimit;
  // Targets name the datacenter the instances are in (another one after a failover).
  const dc = datacenter ?? ctx.datacenter;
  const domain = normalize(ctx.domain);
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const seen = new Set<string>();
  for (const { node, svc, checks } of instances) {
    const addr = svc.Address !== '' ? svc.Address : node.Address;
    // One record per distinct node/address/port, as Consul de-duplicates.
    const tuple = `${node.Node}:${addr}:${svc.Port}`;
    if (seen.has(tuple)) continue;
    seen.add(tuple);
    if (qtype === 'SRV') {
      const warning = checks.some((c) => c.Status === 'warning');
      const nodeTarget = `${node.Node}.node.${dc}.${domain}`;
      const viaNode = svc.Address === '' || svc.Address === node.Address;
      const target = viaNode ? nodeTarget : isIP(addr) ? `${ipToHex(addr)}.addr.${dc}.${domain}` : addr;
      answers.push({ type: 'SRV', name: qname, ttl, data: { priority: 1, weight: srvWeight(svc, warning), port: goUint16(svc.Port), target } });
      const a = addressRecord(target, addr, 'SRV', ttl);
      if (a) additionals.push(a);
      if (viaNode && ctx.dns.enableAdditionalNodeMetaTXT) additionals.push(...metaRecords(nodeTarget, node, ttl));
    } else {
      // a_record_limit caps address answers over any transport.
      if (limit > 0 && answers.length >= limit) break;
      const a = addressRecord(qname, addr, qtype, ttl);
      if (a) answers.push(a);
    }
  }
  return found(ctx, answers, additionals);
}

function nodeLookup(ctx: DnsContext, qname: string, qtype: QType, nodeName: string): Resolution {
  const node = ctx.catalog.node(nodeName) ?? ctx.catalog.nodes.valuesArray().find((n) => n.Node.toLowerCase() === nodeName);
  if (!node || (ctx.authz && !ctx.authz.nodeRead(node.Node))) return empty('NXDOMAIN', ctx);
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const ttl = goUint32(ctx.dns.nodeTTL);
  const a = addressRecord(qname, node.Address, qtype === 'TXT' ? 'NULL' : qtype, ttl);
  if (a) answers.push(a);
  const meta = metaRecords(qname, node, ttl);
  // Meta answers TXT and ANY questions, and rides along as extra data otherwise.
  if (qtype === 'TXT' || qtype === 'ANY') answers.push(...meta);
  else if (ctx.dns.enableAdditionalNodeMetaTXT) additionals.push(...meta);
  return found(ctx, answers, additionals);
}

function reverseLookup(ctx: DnsContext, qname: string, ip: string): Resolution {
  const cat = ctx.catalog;
  const domain = normalize(ctx.domain);
  const answers: Answer[] = [];
  // Stored addresses are whatever clients registered (hostnames, junk): sameIP skips what
  // does not parse as an IP.
  for (const n of cat.nodes.values()) {
    if (sameIP(n.Address, ip) && (!ctx.authz || ctx.authz.nodeRead(n.Node))) answers.push({ type: 'PTR', name: qname, ttl: goUint32(ctx.dns.nodeTTL), data: `${n.Node}.node.${ctx.datacenter}.${domain}` });
  }
  if (answers.length === 0) {
    const names = new Set<string>();
    for (const { node, svc } of cat.services.values()) {
      if (svc.Address !== '' && sameIP(svc.Address, ip) && (!ctx.authz || (ctx.authz.serviceRead(svc.Service) && ctx.authz.nodeRead(node)))) names.add(svc.Service);
    }
    for (const s of names) answers.push({ type: 'PTR', name: qname, ttl: goUint32(serviceTTL(ctx.dns, s)), data: `${s}.service.${ctx.datacenter}.${domain}` });
  }
  return answers.length === 0 ? empty('NXDOMAIN', ctx) : found(ctx, answers);
}

/**
 * Resolves one question. Names outside the domain (and not reverse) answer REFUSED, not
 * authoritative: Consul has no handler for them without recursors (the server forwards them
 * when it has some).
 */
export function resolve(ctx: DnsContext, name: string, qtype: QType): Resolution {
  // Answers carry the name as asked (case kept); matching is case-insensitive.
  const qname = name.replace(/\.$/, '');
  const reverse = parseReverse(qname);
  if (reverse !== null && qtype !== 'A' && qtype !== 'AAAA') return reverseLookup(ctx, qname, reverse);
  const inner = insideDomain(qname, ctx.domain);
  if (inner === null) return empty('REFUSED', null);
  // As Consul's handleQuery, for any name in the domain and before the lookup itself: SOA
  // answers the SOA with the servers as authority, NS the servers; both with their addresses.
  if (qtype === 'SOA' || qtype === 'NS') {
    const { ns, glue } = nameservers(ctx);
    if (qtype === 'NS') return { rcode: 'NOERROR', authoritative: true, answers: ns, authorities: [], additionals: glue };
    return { rcode: 'NOERROR', authoritative: true, answers: [soa(ctx)], authorities: ns, additionals: glue };
  }
  if (qtype === 'AXFR') return { rcode: 'NOTIMP', authoritative: true, answers: [], authorities: [], additionals: [] };
  const lookup = parseLookup(inner);
  if (lookup.kind !== 'unknown' && lookup.kind !== 'ptr' && lookup.dc !== '' && lookup.dc !== ctx.datacenter) {
    // Another datacenter: no path to it yet (Consul's failed RPC: SERVFAIL, still authoritative).
    return { rcode: 'SERVFAIL', authoritative: true, answers: [], authorities: [], additionals: [] };
  }
  switch (lookup.kind) {
    case 'apex':
      return found(ctx, qtype === 'ANY' ? [soa(ctx)] : []);
    case 'service':
      return serviceLookup(ctx, qname, qtype, lookup.service, lookup.tag, lookup.connect === true);
    case 'node':
      return nodeLookup(ctx, qname, qtype, lookup.node);
    case 'query':
      return preparedQueryLookup(ctx, qname, qtype, lookup.name);
    case 'addr': {
      const a = addressRecord(qname, lookup.ip, qtype, 0);
      return found(ctx, a ? [a] : []);
    }
    default:
      return empty('NXDOMAIN', ctx);
  }
}
