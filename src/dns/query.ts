// What a DNS name in the Consul domain asks for, parsed as Consul 1.10's dispatch does:
//   [tag.]service.service[.dc].consul     _service._tag.service[.dc].consul (RFC 2782)
//   node.node[.dc].consul                 hex.addr[.dc].consul
//   query.query[.dc].consul (prepared queries)
// and reverse lookups under in-addr.arpa / ip6.arpa.

import { isIP } from 'node:net';

export type Lookup =
  | { kind: 'service'; service: string; tag: string; dc: string; connect?: boolean }
  | { kind: 'node'; node: string; dc: string }
  | { kind: 'addr'; ip: string; dc: string }
  | { kind: 'query'; name: string; dc: string }
  | { kind: 'apex'; dc: string }
  | { kind: 'ptr'; ip: string }
  | { kind: 'unknown' };

const TYPES = new Set(['service', 'connect', 'ingress', 'node', 'query', 'addr']);

/** Lower-cased, without the trailing dot. */
export function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The name inside `domain` ("consul."), or null when it is outside. */
export function insideDomain(name: string, domain: string): string | null {
  const n = normalize(name);
  const d = normalize(domain);
  if (n === d) return '';
  return n.endsWith(`.${d}`) ? n.slice(0, -(d.length + 1)) : null;
}

/** Parses the labels before the domain. `dc` is '' when the name does not give one. */
export function parseLookup(inner: string): Lookup {
  if (inner === '') return { kind: 'apex', dc: '' };
  const labels = inner.split('.');
  // The type label is the last one, or the one before a datacenter.
  let typeAt = labels.length - 1;
  let dc = '';
  if (!TYPES.has(labels[typeAt] ?? '') && labels.length >= 2 && TYPES.has(labels[typeAt - 1] ?? '')) {
    dc = labels[typeAt] ?? '';
    typeAt--;
  }
  const type = labels[typeAt] ?? '';
  const rest = labels.slice(0, typeAt);
  if (!TYPES.has(type)) return rest.length === 0 && labels.length === 1 ? { kind: 'apex', dc: labels[0] ?? '' } : { kind: 'unknown' };
  switch (type) {
    case 'service': {
      if (rest.length === 0) return { kind: 'unknown' };
      const [first, second] = rest;
      if (rest.length === 2 && first?.startsWith('_') && second?.startsWith('_')) {
        // RFC 2782: _service._protocol; "tcp" means no tag.
        const tag = second.slice(1);
        return { kind: 'service', service: first.slice(1), tag: tag === 'tcp' ? '' : tag, dc };
      }
      return { kind: 'service', service: rest[rest.length - 1] ?? '', tag: rest.slice(0, -1).join('.'), dc };
    }
    case 'connect':
      // <service>.connect.consul: the proxies fronting the service and its native instances.
      return rest.length === 1 ? { kind: 'service', service: rest[0] ?? '', tag: '', dc, connect: true } : { kind: 'unknown' };
    case 'node':
      return rest.length === 0 ? { kind: 'unknown' } : { kind: 'node', node: rest.join('.'), dc };
    case 'addr': {
      const ip = rest.length === 1 ? hexToIP(rest[0] ?? '') : null;
      return ip ? { kind: 'addr', ip, dc } : { kind: 'unknown' };
    }
    case 'query':
      // A query name may hold dots: every label before the type is part of it.
      return rest.length === 0 ? { kind: 'unknown' } : { kind: 'query', name: rest.join('.'), dc };
    default:
      // ingress gateways are not served yet: such names do not exist here.
      return { kind: 'unknown' };
  }
}

/** The hex form Consul uses in <hex>.addr.<dc>.consul targets ('' for what is not an IP). */
export function ipToHex(ip: string): string {
  const v6 = ipv6Groups(ip);
  if (v6) return v6.map((g) => g.toString(16).padStart(4, '0')).join('');
  const v4 = ipv4Octets(ip);
  return v4 ? v4.map((o) => o.toString(16).padStart(2, '0')).join('') : '';
}

function hexToIP(hex: string): string | null {
  if (/^[0-9a-f]{8}$/.test(hex)) return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  if (/^[0-9a-f]{32}$/.test(hex)) return Array.from({ length: 8 }, (_, i) => hex.slice(i * 4, i * 4 + 4)).join(':');
  return null;
}

function ipv4Octets(ip: string): number[] | null {
  return isIP(ip) === 4 ? ip.split('.').map(Number) : null;
}

/**
 * The eight groups of an IPv6 address, or null when it is not one. Stored addresses are any
 * string a client registered (Consul does not check node addresses), so nothing here may throw.
 */
function ipv6Groups(ip: string): number[] | null {
  const bare = ip.replace(/%.*$/, ''); // a zone ("fe80::1%eth0") is not part of the address
  if (isIP(bare) !== 6) return null;
  let text = bare;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = ipv4Octets(v4[1] ?? '');
    if (!o) return null;
    text = `${text.slice(0, -(v4[1] ?? '').length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = text.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16)) : null;
}

/** The address a reverse name asks about, or null when it is not one. */
export function parseReverse(name: string): string | null {
  const n = normalize(name);
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
    return parts.reverse().map(Number).join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return null;
    const hex = nibbles.reverse().join('');
    return Array.from({ length: 8 }, (_, i) => hex.slice(i * 4, i * 4 + 4).replace(/^0+(?=.)/, '')).join(':');
  }
  return null;
}

/** Compares addresses in any spelling; what does not parse as an IP matches nothing. */
export function sameIP(a: string, b: string): boolean {
  const x = ipToHex(a);
  return x !== '' && x === ipToHex(b);
}

/**
 * The other datacenter a service, node or prepared-query name asks about (Consul answers those
 * with an RPC to that datacenter), or null: no datacenter label, this one, or a lookup answered
 * here whatever the label (addr, apex, reverse).
 */
export function otherDatacenter(name: string, domain: string, datacenter: string): string | null {
  const inner = insideDomain(name, domain);
  if (inner === null) return null;
  const l = parseLookup(inner);
  if (l.kind !== 'service' && l.kind !== 'node' && l.kind !== 'query') return null;
  return l.dc !== '' && l.dc !== datacenter.toLowerCase() ? l.dc : null;
}

/** The prepared query a `<query>.query[.dc].<domain>` name of this datacenter asks for, else null. */
export function preparedQueryName(name: string, domain: string, datacenter: string): string | null {
  const inner = insideDomain(name, domain);
  if (inner === null) return null;
  const l = parseLookup(inner);
  return l.kind === 'query' && (l.dc === '' || l.dc === datacenter.toLowerCase()) ? l.name : null;
}
