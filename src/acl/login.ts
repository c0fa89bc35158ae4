// Login validators: a bearer token → a verified Identity, or the error Consul's validator
// returns (passed through to the client). `jwt` verifies signatures with jose against static
// PEM keys, a JWKS URL or an OIDC discovery document, then checks the claims as go-sso's
// verifyVanillaJWT does; `kubernetes` asks the cluster's TokenReview API, as Consul's kubeauth.

import { compactVerify, createLocalJWKSet, type CompactVerifyGetKey, type KeyObject } from 'jose';
import { type JWTConfig, type KubernetesConfig, compactJWSError, discover, fetchKeySet, parsePublicKeyPEM } from './auth-config.js';
import { blankIdentity, type Identity, KUBE_FIELDS } from './binding.js';
import { goRequest } from './go-http.js';
import { isPlainObject } from '../util/json.js';

export class LoginError extends Error {}

const NS_PER_S = 1e9;
const DEFAULT_LEEWAY_S = 150;
const DEFAULT_CLOCK_SKEW_S = 60;

// Remote key sets by URL, refetched once when no cached key verifies (go-oidc's remoteKeySet).
const keySets = new Map<string, CompactVerifyGetKey>();

async function remoteKeys(url: string, ca: string, refresh: boolean): Promise<CompactVerifyGetKey> {
  let ks = refresh ? undefined : keySets.get(url);
  if (!ks) {
    ks = createLocalJWKSet(await fetchKeySet(url, ca));
    keySets.set(url, ks);
  }
  return ks;
}

/** The signature check; returns the payload bytes. Errors as go-sso words them. */
async function verifySignature(c: JWTConfig, token: string): Promise<{ payload: Uint8Array; issuer?: string }> {
  const algorithms = c.JWTSupportedAlgs.length > 0 ? c.JWTSupportedAlgs : undefined;
  if (c.JWTValidationPubKeys.length > 0) {
    const err = compactJWSError(token);
    if (err !== null) throw new LoginError(`error parsing token: ${err}`);
    for (const pem of c.JWTValidationPubKeys) {
      const key: KeyObject = parsePublicKeyPEM(pem);
      try {
        return { payload: (await compactVerify(token, key, { algorithms })).payload };
      } catch {
        // the next key may verify it
      }
    }
    throw new LoginError('no known key successfully validated the token signature');
  }
  let jwksURL = c.JWKSURL;
  let ca = c.JWKSCACert;
  let issuer: string | undefined;
  if (jwksURL === '') {
    try {
      const d = await discover(c.OIDCDiscoveryURL, c.OIDCDiscoveryCACert);
      jwksURL = d.jwksURI;
      issuer = d.issuer;
      ca = c.OIDCDiscoveryCACert;
    } catch (e) {
      throw new LoginError(`error validating signature: ${(e as Error).message}`);
    }
  }
  const prefix = c.JWKSURL !== '' ? 'error verifying token' : 'error validating signature';
  for (const refresh of [false, true]) {
    let keys: CompactVerifyGetKey;
    try {
      keys = await remoteKeys(jwksURL, ca, refresh);
    } catch (e) {
      throw new LoginError(`${prefix}: fetching keys ${(e as Error).message}`);
    }
    try {
      return { payload: (await compactVerify(token, keys, { algorithms: algorithms ?? (c.JWKSURL === '' ? ['RS256'] : undefined) })).payload, issuer };
    } catch {
      // unknown key: refetch once, as a rotated key set would need
    }
  }
  throw new LoginError(`${prefix}: failed to verify id token signature`);
}

const seconds = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);
const leeway = (ns: number, def: number): number => (ns < 0 ? 0 : ns === 0 ? def : ns / NS_PER_S);
const audList = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** go-sso's claim checks after the signature (times in seconds, leeways as configured). */
function checkClaims(c: JWTConfig, claims: Record<string, unknown>, discoveredIssuer: string | undefined, nowS: number): void {
  const iat = seconds(claims.iat);
  let exp = seconds(claims.exp);
  let nbf = seconds(claims.nbf);
  if (iat === 0 && exp === 0 && nbf === 0) throw new LoginError('no issue time, notbefore, or expiration time encoded in token');
  if (exp === 0) exp = Math.max(iat, nbf) + leeway(c.ExpirationLeeway, DEFAULT_LEEWAY_S);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(c.NotBeforeLeeway, DEFAULT_LEEWAY_S);
  const iss = typeof claims.iss === 'string' ? claims.iss : '';
  const wantIss = discoveredIssuer ?? c.BoundIssuer;
  const fail = (why: string): never => {
    throw new LoginError(`error validating claims: ${why}`);
  };
  if (wantIss !== '' && iss !== wantIss) fail('square/go-jose/jwt: validation failed, invalid issuer claim (iss)');
  const skew = leeway(c.ClockSkewLeeway, DEFAULT_CLOCK_SKEW_S);
  if (nowS + skew < nbf) fail('square/go-jose/jwt: validation failed, token not valid yet (nbf)');
  if (nowS - skew > exp) fail('square/go-jose/jwt: validation failed, token is expired (exp)');
  if (iat !== 0 && nowS + skew < iat) fail('square/go-jose/jwt: validation field, token issued in the future (iat)');
  const aud = audList(claims.aud);
  if (c.BoundAudiences.length === 0) {
    if (aud.length > 0 && discoveredIssuer === undefined) fail('audience claim found in JWT but no audiences are bound');
  } else if (!c.BoundAudiences.some((b) => aud.includes(b))) fail('aud claim does not match any bound audience');
}

/** A claim by name, or by JSON pointer when it starts with "/" (go-sso's getClaim). */
function getClaim(claims: Record<string, unknown>, source: string): unknown {
  if (!source.startsWith('/')) return claims[source];
  let cur: unknown = claims;
  for (const raw of source.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isPlainObject(cur)) cur = cur[seg];
    else if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
    else return undefined;
  }
  return cur;
}

const stringify = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'boolean' || typeof v === 'number' ? String(v) : null);

/** ClaimMappings and ListClaimMappings → the identity (go-sso extractClaims, ssoauth identityFromClaims). */
function jwtIdentity(c: JWTConfig, claims: Record<string, unknown>): Identity {
  const id = blankIdentity('jwt', Object.values(c.ClaimMappings), Object.values(c.ListClaimMappings));
  const values = id.selectable.value as Record<string, string>;
  const lists = id.selectable.list as Record<string, string[]>;
  for (const [source, target] of Object.entries(c.ClaimMappings)) {
    const v = getClaim(claims, source);
    if (v === undefined || v === null) continue;
    const s = stringify(v);
    if (s === null) throw new LoginError(`error converting claim '${source}' to string from unknown type ${Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}'}`);
    values[target] = s;
    id.projected[`value.${target}`] = s;
  }
  for (const [source, target] of Object.entries(c.ListClaimMappings)) {
    const v = getClaim(claims, source);
    if (v === undefined || v === null) continue;
    const raw = Array.isArray(v) ? (v as unknown[]) : stringify(v) !== null ? [v] : null;
    if (raw === null) throw new LoginError(`${JSON.stringify(source)} list claim could not be converted to string list`);
    const out: string[] = [];
    for (const x of raw) {
      const s = stringify(x);
      if (s === null) throw new LoginError(`value ${JSON.stringify(x)} in ${JSON.stringify(source)} list claim could not be parsed as string`);
      if (s !== '') out.push(s);
    }
    lists[target] = out;
  }
  return id;
}

export async function validateJWTLogin(c: JWTConfig, token: string, nowMs = Date.now()): Promise<Identity> {
  if (token === '') throw new LoginError('missing jwt');
  const { payload, issuer } = await verifySignature(c, token);
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch (e) {
    throw new LoginError(`failed to unmarshal claims: ${(e as Error).message}`);
  }
  if (!isPlainObject(claims)) throw new LoginError('failed to unmarshal claims: json: cannot unmarshal into Go value of type jwt.Claims');
  checkClaims(c, claims, issuer, Math.floor(nowMs / 1000));
  return jwtIdentity(c, claims);
}

/** Host as client-go takes it: a URL, or host[:port] meaning https. */
function apiURL(host: string, path: string): string {
  const base = /^https?:\/\//.test(host) ? host : `https://${host}`;
  return base.replace(/\/+$/, '') + path;
}

/**
 * Consul's kubeauth ValidateLogin: TokenReview, then the service account's annotations. A call
 * that fails is answered with Go's error text, as Consul answers it.
 */
export async function validateKubernetesLogin(c: KubernetesConfig, token: string): Promise<Identity> {
  const err = compactJWSError(token);
  if (err !== null) throw new LoginError(`failed to parse and validate JWT: ${err}`);
  const headers = { Authorization: `Bearer ${c.ServiceAccountJWT}`, 'Content-Type': 'application/json', Accept: 'application/json' };
  const trURL = apiURL(c.Host, '/apis/authentication.k8s.io/v1/tokenreviews');
  let res;
  try {
    res = await goRequest('POST', trURL, c.CACert, { headers, body: JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec: { token } }) });
  } catch (e) {
    throw new LoginError((e as Error).message);
  }
  const body = parseOr(res.body);
  if (res.status < 200 || res.status > 299) throw new LoginError(statusError(res.status, body, res.body));
  const status = isPlainObject(body) && isPlainObject(body.status) ? body.status : {};
  if (typeof status.error === 'string' && status.error !== '') throw new LoginError(`lookup failed: ${status.error}`);
  if (status.authenticated !== true) throw new LoginError('lookup failed: service account jwt not valid');
  const user = isPlainObject(status.user) ? status.user : {};
  const parts = (typeof user.username === 'string' ? user.username : '').split(':');
  if (parts.length !== 4) throw new LoginError('lookup failed: unexpected username format');
  if (parts[0] !== 'system' || parts[1] !== 'serviceaccount') throw new LoginError('lookup failed: username returned is not a service account');
  const namespace = parts[2] ?? '';
  let name = parts[3] ?? '';
  const uid = typeof user.uid === 'string' ? user.uid : '';
  let sa;
  try {
    sa = await goRequest('GET', apiURL(c.Host, `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`), c.CACert, { headers });
  } catch (e) {
    throw new LoginError(`annotation lookup failed: ${(e as Error).message}`);
  }
  const saBody = parseOr(sa.body);
  if (sa.status < 200 || sa.status > 299) throw new LoginError(`annotation lookup failed: ${statusError(sa.status, saBody, sa.body)}`);
  const meta = isPlainObject(saBody) && isPlainObject(saBody.metadata) ? saBody.metadata : {};
  const ann = isPlainObject(meta.annotations) ? meta.annotations : {};
  const override = ann['consul.hashicorp.com/service-name'];
  if (typeof override === 'string') name = override;
  const id = blankIdentity('kubernetes', [], []);
  id.selectable = { serviceaccount: { namespace, name, uid } };
  const [nsF, nameF, uidF] = KUBE_FIELDS;
  id.projected = { [nsF]: namespace, [nameF]: name, [uidF]: uid };
  return id;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** client-go's error for a non-2xx answer: the Status message when the server sent one. */
function statusError(code: number, body: unknown, raw: string): string {
  if (isPlainObject(body) && typeof body.message === 'string') return body.message;
  return `the server responded with the status code ${code} but did not return more information${raw === '' ? '' : ` (${raw.slice(0, 200)})`}`;
}
