// /v1/operator/keyring: Tribune speaks no gossip, so there is never a gossip keyring. Every
// operation answers what Consul answers when `encrypt` is not set: each pool (WAN, then this
// datacenter's LAN) reports its one member refusing, joined as go-multierror prints them.

import type { ApiDeps, EndpointGroup } from '../api.js';
import { keyringRead, keyringWrite } from '../acl.js';
import type { Ctx } from '../context.js';
import { isObject } from '../decode.js';
import { badRequest, serverError } from '../errors.js';
import { jsonKind } from '../../util/json.js';
import { goBool } from '../../util/strconv.js';

const MAX_BODY = 64 * 1024;
/** Serf's answers to a keyring query on a member without encryption. */
const LIST_EMPTY = 'Keyring is empty (encryption not enabled)';
const NO_KEYRING = 'No keyring to modify (encryption not enabled)';

/** go-multierror's ListFormatFunc. */
export function multiError(errs: string[]): string {
  if (errs.length === 1) return `1 error occurred:\n\t* ${errs[0]}\n\n`;
  return `${errs.length} errors occurred:\n\t${errs.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

/** keyringErrorsOrNil over the WAN and LAN responses of this one server. */
export function keyringError(node: string, dc: string, message: string): string {
  return multiError([`WAN error: 1/1 nodes reported failure`, `${node}.${dc}: ${message}`, `${dc} (LAN) error: 1/1 nodes reported failure`, `${node}: ${message}`]);
}

async function keyring(ctx: Ctx, { config }: ApiDeps): Promise<never> {
  if (ctx.method !== 'GET') {
    const body = await ctx.jsonBody(MAX_BODY);
    if (body !== undefined && body !== null && !isObject(body)) throw badRequest(`Request decode failed: json: cannot unmarshal ${jsonKind(body)} into Go value of type agent.keyringArgs`);
  }
  const relay = ctx.get('relay-factor');
  if (relay !== null && relay !== '') {
    if (!/^[+-]?\d+$/.test(relay)) throw badRequest(`Error parsing relay factor: strconv.Atoi: parsing ${JSON.stringify(relay)}: invalid syntax`);
    if (Number(relay) < 0 || Number(relay) > 5) throw badRequest('Invalid relay-factor: Relay factor must be in range: [0, 5]');
  }
  const localOnly = ctx.get('local-only');
  if (localOnly !== null && localOnly !== '') {
    const v = goBool(localOnly);
    if (v === null) throw badRequest(`Error parsing local-only: strconv.ParseBool: parsing ${JSON.stringify(localOnly)}: invalid syntax`);
    if (v && ctx.method !== 'GET') throw badRequest('Invalid use of local-only: local-only can only be set for list requests');
  }
  throw serverError(keyringError(config.nodeName, config.datacenter, ctx.method === 'GET' ? LIST_EMPTY : NO_KEYRING));
}

export const keyringEndpoints: EndpointGroup = (router, deps) => {
  const handler = (ctx: Ctx): Promise<never> => keyring(ctx, deps);
  router.on('/v1/operator/keyring', {
    GET: { acl: keyringRead, handler },
    POST: { acl: keyringWrite, handler },
    PUT: { acl: keyringWrite, handler },
    DELETE: { acl: keyringWrite, handler },
  });
};
