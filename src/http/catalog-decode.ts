// Decoding /v1/catalog/register and /deregister bodies into the state machine's requests, with
// the checks Consul's Catalog.Register makes before anything reaches the log (its errors answer
// 500, as Consul's RPC errors do; malformed JSON answers 400 "Request decode failed").

import { validateWeights } from '../agent/definitions.js';
import type { DeregisterRequest, HealthCheck, NodeService, RegisterRequest, ServiceAddress, Weights } from '../state/catalog-types.js';
import { isUUID } from '../util/ids.js';
import { bool, decodeError, field, isObject, num, type Obj, objectField, str, strList, strMap } from './decode.js';
import { serverError } from './errors.js';

type ServiceInput = Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>;
type CheckInput = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>;

/** What every stored service carries when the client did not say (Consul's defaults). */
export const defaultProxy = (): Record<string, unknown> => ({ Mode: '', MeshGateway: {}, Expose: {} });
export const DEFAULT_WEIGHTS: Weights = { Passing: 1, Warning: 1 };

/**
 * NodeService.ToServiceNode: missing weights, or any ValidateWeights refuses (Passing < 1,
 * Warning < 0, either above 65535), become Passing 1 / Warning 1. Consul's catalog register
 * stores them so instead of answering an error (only /v1/agent/service/register answers 400).
 */
export function normalizeWeights(w: Obj | null): Weights {
  if (!w) return { ...DEFAULT_WEIGHTS };
  const weights = { Passing: num(w, 'Passing'), Warning: num(w, 'Warning') };
  return validateWeights(weights) === null ? weights : { ...DEFAULT_WEIGHTS };
}

function taggedServiceAddresses(obj: Obj): Record<string, ServiceAddress> | undefined {
  const v = objectField(obj, 'TaggedAddresses');
  if (!v) return undefined;
  const out: Record<string, ServiceAddress> = {};
  for (const [k, a] of Object.entries(v)) {
    if (!isObject(a)) throw decodeError(`json: cannot unmarshal ${typeof a} into Go struct field .TaggedAddresses of type structs.ServiceAddress`);
    out[k] = { Address: str(a, 'Address'), Port: num(a, 'Port') };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A service's fields as given. Txn service operations use this alone: Consul's txn runs no
 * servicePreApply, so a get or delete names the service by ID only (TestAPI_ClientTxn).
 */
export function decodeServiceFields(obj: Obj): ServiceInput {
  const svc: ServiceInput = {
    Kind: str(obj, 'Kind'),
    ID: str(obj, 'ID'),
    Service: str(obj, 'Service'),
    Tags: strList(obj, 'Tags') ?? [],
    Address: str(obj, 'Address'),
    Meta: strMap(obj, 'Meta'),
    // Consul decodes Port into an int and checks no range (70000 and -1 are stored as given);
    // its DNS answers uint16(Port), as dns/resolve.ts does, so no value can break an answer.
    Port: num(obj, 'Port'),
    SocketPath: str(obj, 'SocketPath'),
    Weights: normalizeWeights(objectField(obj, 'Weights')),
    EnableTagOverride: bool(obj, 'EnableTagOverride'),
    Proxy: { ...defaultProxy(), ...(objectField(obj, 'Proxy') ?? {}) },
    Connect: objectField(obj, 'Connect') ?? {},
  };
  const tagged = taggedServiceAddresses(obj);
  if (tagged) svc.TaggedAddresses = tagged;
  if (svc.ID === '' && svc.Service !== '') svc.ID = svc.Service;
  return svc;
}

/** A catalog registration's service, with Consul's servicePreApply refusals. */
export function decodeService(obj: Obj): ServiceInput {
  const svc = decodeServiceFields(obj);
  // An ID without a name, or neither (a service must at least be named).
  if (svc.Service === '') throw serverError('Must provide service name with ID');
  if (svc.Address === '0.0.0.0' || svc.Address === '::' || svc.Address === '[::]') throw serverError('Invalid service address');
  return svc;
}

export function decodeCheck(obj: Obj, node: string): CheckInput {
  const c: CheckInput = {
    Node: node,
    CheckID: str(obj, 'CheckID'),
    Name: str(obj, 'Name'),
    Status: str(obj, 'Status'),
    Notes: str(obj, 'Notes'),
    Output: str(obj, 'Output'),
    ServiceID: str(obj, 'ServiceID'),
    ServiceName: '',
    ServiceTags: [],
    Type: str(obj, 'Type'),
    Interval: str(obj, 'Interval'),
    Timeout: str(obj, 'Timeout'),
    ExposedPort: num(obj, 'ExposedPort'),
    Definition: objectField(obj, 'Definition') ?? {},
  };
  // checkPreApply: the name stands in for a missing ID.
  if (c.CheckID === '' && c.Name !== '') c.CheckID = c.Name;
  if (c.CheckID === '') throw serverError('Missing check ID');
  if (c.Status !== '' && !['passing', 'warning', 'critical', 'maintenance'].includes(c.Status)) {
    throw serverError(`Invalid check status: "${c.Status}"`);
  }
  return c;
}

export function decodeRegister(body: unknown): RegisterRequest {
  if (!isObject(body)) throw decodeError('json: cannot unmarshal into Go value of type structs.RegisterRequest');
  const req: RegisterRequest = {
    Node: str(body, 'Node'),
    ID: str(body, 'ID'),
    Datacenter: str(body, 'Datacenter'),
    Address: str(body, 'Address'),
    TaggedAddresses: strMap(body, 'TaggedAddresses'),
    NodeMeta: strMap(body, 'NodeMeta'),
    Service: null,
    Checks: [],
    SkipNodeUpdate: bool(body, 'SkipNodeUpdate'),
  };
  const svc = objectField(body, 'Service');
  const single = objectField(body, 'Check');
  const many = field(body, 'Checks');
  if (many !== undefined && many !== null && !Array.isArray(many)) {
    throw decodeError('json: cannot unmarshal object into Go struct field RegisterRequest.Checks of type structs.HealthChecks');
  }
  // Validation order follows Catalog.Register.
  if (req.Node === '') throw serverError('Must provide node');
  if (req.Address === '' && !req.SkipNodeUpdate) throw serverError('Must provide address if SkipNodeUpdate is not set');
  if (req.ID !== '' && !isUUID(req.ID)) throw serverError(`Bad node ID: uuid string is wrong length`);
  if (svc) req.Service = decodeService(svc);
  const checks: unknown[] = Array.isArray(many) ? [...(many as unknown[])] : [];
  if (single) checks.push(single);
  for (const c of checks) {
    if (!isObject(c)) throw decodeError('json: cannot unmarshal into Go struct field RegisterRequest.Checks of type structs.HealthCheck');
    req.Checks.push(decodeCheck(c, req.Node));
  }
  return req;
}

export function decodeDeregister(body: unknown): DeregisterRequest {
  if (!isObject(body)) throw decodeError('json: cannot unmarshal into Go value of type structs.DeregisterRequest');
  const req: DeregisterRequest = { Node: str(body, 'Node'), ServiceID: str(body, 'ServiceID'), CheckID: str(body, 'CheckID') };
  if (req.Node === '') throw serverError('Must provide node');
  return req;
}
