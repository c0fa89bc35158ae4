// /v1/coordinate/*: network coordinates as Consul 1.10 serves them (agent/coordinate_endpoint.go,
// agent/consul/coordinate_endpoint.go). Updates are validated here and queued on the server's
// batcher, which writes them to the log once per period; reads are blocking queries.

import type { Coordinate } from '../../state/coordinates.js';
import { COORD_DIMENSIONALITY, compatible, isValidCoordinate, type NetCoordinate } from '../../util/coordinate.js';
import { unmarshalTypeError } from '../../util/json.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { demand, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { decodeError, field, isObject, str, type Obj } from '../decode.js';
import { HttpError, serverError } from '../errors.js';
import { answerRead } from '../read.js';
import { checkDatacenter } from '../query-options.js';
import { empty, json, type Reply } from '../reply.js';

const MAX_BODY = 64 * 1024;
/** types.AreaWAN: the one area a datacenter without network areas has. */
const AREA_WAN = 'wan';

/** ?segment keeps one segment (agent.filterCoordinates); absent keeps all. */
function bySegment(ctx: Ctx, coords: Coordinate[]): Coordinate[] {
  if (!ctx.has('segment')) return coords;
  const seg = ctx.get('segment') ?? '';
  return coords.filter((c) => c.Segment === seg);
}

function datacenters(ctx: Ctx, { server, config, cluster }: ApiDeps): Reply {
  checkDatacenter(ctx, config.datacenter);
  const wan = cluster?.wanCoordinates?.();
  if (!wan) return json([{ Datacenter: config.datacenter, AreaID: AREA_WAN, Coordinates: [{ Node: config.nodeName, Segment: '', Coord: server.coordinate }] }]);
  // The WAN pool's node names carry ".dc", which Consul strips here; datacenters sorted by name.
  const strip = (node: string, dc: string): string => (node.endsWith(`.${dc}`) ? node.slice(0, -dc.length - 1) : node);
  const out = wan
    .map((d) => ({ Datacenter: d.Datacenter, AreaID: AREA_WAN, Coordinates: d.Coordinates.map((c) => ({ Node: strip(c.Node, d.Datacenter), Segment: '', Coord: c.Coord })) }))
    .sort((a, b) => (a.Datacenter < b.Datacenter ? -1 : a.Datacenter > b.Datacenter ? 1 : 0));
  return json(out);
}

function nodes(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => (ws) => {
    const t = deps.server.store.coordinates;
    const coords = visible(ctx, bySegment(ctx, t.list(ws)), (a, c) => a.nodeRead(c.Node));
    return { index: Math.max(1, t.index), value: coords };
  });
}

async function node(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  const name = ctx.params['node'] ?? '';
  let found = false;
  const reply = await answerRead(ctx, deps, () => (ws) => {
    const t = deps.server.store.coordinates;
    const coords = bySegment(ctx, t.forNode(name, ws));
    found = coords.length > 0;
    return { index: Math.max(1, t.index), value: coords };
  });
  // Consul answers an unknown node with a bare 404 (and the query's headers).
  if (reply && !found) return { status: 404, ...(reply.headers ? { headers: reply.headers } : {}) };
  return reply;
}

function decodeNumber(v: unknown, where: string): number {
  if (typeof v !== 'number') throw decodeError(unmarshalTypeError(v, where, 'float64'));
  return v;
}

/** coordinate.Coordinate from JSON; null when absent. */
function decodeCoord(v: unknown): NetCoordinate | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw decodeError(unmarshalTypeError(v, 'CoordinateUpdateRequest.Coord', 'coordinate.Coordinate'));
  const vec = field(v, 'Vec');
  let out: number[] = [];
  if (vec !== undefined && vec !== null) {
    if (!Array.isArray(vec)) throw decodeError(unmarshalTypeError(vec, 'CoordinateUpdateRequest.Coord.Vec', '[]float64'));
    // Bounded by the body limit; longer than Serf's dimensionality is refused below.
    out = vec.map((x) => decodeNumber(x, 'CoordinateUpdateRequest.Coord.Vec'));
  }
  const num = (name: string): number => {
    const x = field(v, name);
    return x === undefined || x === null ? 0 : decodeNumber(x, `CoordinateUpdateRequest.Coord.${name}`);
  };
  return { Vec: out, Error: num('Error'), Adjustment: num('Adjustment'), Height: num('Height') };
}

async function update(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  const body = await ctx.jsonBody(MAX_BODY);
  if (body !== undefined && body !== null && !isObject(body)) throw decodeError(unmarshalTypeError(body, '', 'structs.CoordinateUpdateRequest'));
  const obj: Obj = body ?? {};
  const req = { Node: str(obj, 'Node'), Segment: str(obj, 'Segment'), Coord: decodeCoord(field(obj, 'Coord')) };
  checkDatacenter(ctx, config.datacenter);
  // Consul's order: validity, dimensionality, then the token.
  if (!req.Coord || !isValidCoordinate(req.Coord)) throw serverError('invalid coordinate');
  if (!compatible(server.coordinate, req.Coord) || req.Coord.Vec.length !== COORD_DIMENSIONALITY) throw serverError('incompatible coordinate');
  demand(ctx, (a) => a.nodeWrite(req.Node));
  server.coordinates.add({ Node: req.Node, Segment: req.Segment, Coord: req.Coord });
  return empty();
}

/** checkCoordinateDisabled: with disable_coordinates every coordinate endpoint answers 401. */
const unlessDisabled =
  ({ config }: ApiDeps, h: (ctx: Ctx) => Reply | Promise<Reply | null>) =>
  (ctx: Ctx): Reply | Promise<Reply | null> => {
    if (config.disableCoordinates) throw new HttpError(401, 'Coordinate support disabled');
    return h(ctx);
  };

export const coordinateEndpoints: EndpointGroup = (router, deps) => {
  // Consul's ListDatacenters takes no token.
  router.on('/v1/coordinate/datacenters', { GET: { acl: 'none', handler: unlessDisabled(deps, (ctx) => datacenters(ctx, deps)) } });
  router.on('/v1/coordinate/nodes', { GET: { acl: 'filtered', handler: unlessDisabled(deps, (ctx) => nodes(ctx, deps)) } });
  router.on('/v1/coordinate/node/:node', { GET: { acl: (a, ctx) => a.nodeRead(ctx.params['node'] ?? ''), handler: unlessDisabled(deps, (ctx) => node(ctx, deps)) } });
  router.on('/v1/coordinate/update', { PUT: { acl: 'in-handler', handler: unlessDisabled(deps, (ctx) => update(ctx, deps)) } });
};
