// Auth method configs as Consul 1.10 (OSS) decodes and validates them: authmethod.ParseConfig
// (mapstructure: keys case-insensitive, unknown keys refused, durations from text), then the
// type's own checks (kubeauth.NewValidator, go-sso oidcauth Config.Validate) with their texts.
// Validation that reaches the network (JWKSURL, OIDCDiscoveryURL) is async, as Consul's is.

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { parseDuration } from '../util/duration.js';
import { isPlainObject } from '../util/json.js';
import { fetchJSON } from './go-http.js';

/** Consul OSS 1.10 registers these (authmethod.Types(), sorted). */
export const AUTH_METHOD_TYPES = ['jwt', 'kubernetes'] as const;
export type AuthMethodType = (typeof AUTH_METHOD_TYPES)[number];

export class AuthConfigError extends Error {}

export interface KubernetesConfig {
  Host: string;
  CACert: string;
  ServiceAccountJWT: string;
}

export interface JWTConfig {
  JWTSupportedAlgs: string[];
  BoundAudiences: string[];
  ClaimMappings: Record<string, string>;
  ListClaimMappings: Record<string, string>;
  OIDCDiscoveryURL: string;
  OIDCDiscoveryCACert: string;
  JWKSURL: string;
  JWKSCACert: string;
  JWTValidationPubKeys: string[];
  BoundIssuer: string;
  /** Nanoseconds (Go time.Duration). */
  ExpirationLeeway: number;
  NotBeforeLeeway: number;
  ClockSkewLeeway: number;
}

type Kind = 'string' | 'strings' | 'strmap' | 'duration';
const KUBE_FIELDS: Record<keyof KubernetesConfig, Kind> = { Host: 'string', CACert: 'string', ServiceAccountJWT: 'string' };
const JWT_FIELDS: Record<keyof JWTConfig, Kind> = {
  JWTSupportedAlgs: 'strings',
  BoundAudiences: 'strings',
  ClaimMappings: 'strmap',
  ListClaimMappings: 'strmap',
  OIDCDiscoveryURL: 'string',
  OIDCDiscoveryCACert: 'string',
  JWKSURL: 'string',
  JWKSCACert: 'string',
  JWTValidationPubKeys: 'strings',
  BoundIssuer: 'string',
  ExpirationLeeway: 'duration',
  NotBeforeLeeway: 'duration',
  ClockSkewLeeway: 'duration',
};
const ZERO: Record<Kind, () => unknown> = { string: () => '', strings: () => [], strmap: () => ({}), duration: () => 0 };

/** Go's name for a decoded JSON value's type, as mapstructure reports it. */
const goType = (v: unknown): string => (typeof v === 'string' ? 'string' : typeof v === 'number' ? 'float64' : typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}');

/** mapstructure's decode of a raw config into the fields; errors gathered as it does. */
function decodeFields<T>(raw: Record<string, unknown>, fields: Record<string, Kind>): T {
  const out: Record<string, unknown> = {};
  for (const [k, kind] of Object.entries(fields)) out[k] = ZERO[kind]();
  const errors: string[] = [];
  const unused: string[] = [];
  const bad = (name: string, want: string, v: unknown): void => {
    errors.push(`'${name}' expected type '${want}', got unconvertible type '${goType(v)}', value: '${JSON.stringify(v)}'`);
  };
  for (const [key, v] of Object.entries(raw)) {
    const name = Object.keys(fields).find((f) => f.toLowerCase() === key.toLowerCase());
    if (name === undefined) {
      unused.push(key);
      continue;
    }
    if (v === null) continue;
    switch (fields[name]) {
      case 'string':
        if (typeof v === 'string') out[name] = v;
        else bad(name, 'string', v);
        break;
      case 'strings':
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = v;
        else bad(name, '[]string', v);
        break;
      case 'strmap':
        if (isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string')) out[name] = v;
        else bad(name, 'map[string]string', v);
        break;
      case 'duration':
        if (typeof v === 'number' && Number.isInteger(v)) out[name] = v;
        else if (typeof v === 'string') {
          try {
            out[name] = parseDuration(v);
          } catch (e) {
            errors.push(`error decoding '${name}': ${(e as Error).message}`);
          }
        } else bad(name, 'time.Duration', v);
        break;
    }
  }
  if (unused.length > 0) errors.push(`'' has invalid keys: ${unused.sort().join(', ')}`);
  if (errors.length > 0) throw new AuthConfigError(`error decoding config: ${errors.length} error(s) decoding:\n\n${errors.map((e) => `* ${e}`).join('\n')}`);
  return out as T;
}

/** PEM blocks of a text, as encoding/pem finds them. */
function pemBlocks(text: string): { type: string; der: Buffer }[] {
  const out: { type: string; der: Buffer }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ type: m[1] ?? '', der: Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64') });
  return out;
}

/** k8s cert.ParseCertsPEM: every CERTIFICATE block must parse; at least one is needed. */
function checkCACert(pem: string): void {
  let n = 0;
  for (const b of pemBlocks(pem)) {
    if (b.type !== 'CERTIFICATE') continue;
    try {
      new X509Certificate(b.der);
    } catch {
      throw new AuthConfigError('error parsing kubernetes ca cert: x509: malformed certificate');
    }
    n++;
  }
  if (n === 0) throw new AuthConfigError('error parsing kubernetes ca cert: data does not contain any valid RSA or ECDSA certificates');
}

/** go-jose's jwt.ParseSigned on compact serialisation; returns its error text, or null. */
export function compactJWSError(token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return 'square/go-jose: compact JWS format must have three parts';
  for (const p of parts) if (!/^[A-Za-z0-9_-]*$/.test(p)) return 'illegal base64 data at input byte 0';
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'));
    if (!isPlainObject(header)) return 'square/go-jose: invalid protected header';
  } catch {
    return 'invalid character looking for beginning of value';
  }
  return null;
}

/** go-sso's parsePublicKeyPEM: a PKIX public key, or a certificate's; RSA, ECDSA or Ed25519. */
export function parsePublicKeyPEM(pem: string): KeyObject {
  const fail = (): never => {
    throw new AuthConfigError('data does not contain any valid RSA, ECDSA, or ED25519 public keys');
  };
  const block = pemBlocks(pem)[0];
  if (!block) return fail();
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch {
    try {
      key = new X509Certificate(block.der).publicKey;
    } catch {
      return fail();
    }
  }
  if (!['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) fail();
  return key;
}

export function parseKubernetesConfig(raw: Record<string, unknown>): KubernetesConfig {
  const c = decodeFields<KubernetesConfig>(raw, KUBE_FIELDS);
  if (c.Host === '') throw new AuthConfigError('Config.Host is required');
  if (c.CACert === '') throw new AuthConfigError('Config.CACert is required');
  checkCACert(c.CACert);
  if (c.ServiceAccountJWT === '') throw new AuthConfigError('Config.ServiceAccountJWT is required');
  const jwsErr = compactJWSError(c.ServiceAccountJWT);
  if (jwsErr !== null) throw new AuthConfigError(`Config.ServiceAccountJWT is not a valid JWT: ${jwsErr}`);
  return c;
}

const SUPPORTED_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** The checks of Config.Validate that need no network, in its order up to the remote ones. */
export function parseJWTConfig(raw: Record<string, unknown>): JWTConfig {
  const c = decodeFields<JWTConfig>(raw, JWT_FIELDS);
  const ways = [c.OIDCDiscoveryURL !== '', c.JWTValidationPubKeys.length > 0, c.JWKSURL !== ''].filter(Boolean).length;
  if (ways !== 1) throw new AuthConfigError(`exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set for type "jwt"`);
  if (c.JWKSURL === '' && c.JWKSCACert !== '') throw new AuthConfigError(`'JWKSCACert' should not be set unless 'JWKSURL' is set`);
  c.JWTValidationPubKeys.forEach((k, i) => {
    try {
      parsePublicKeyPEM(k);
    } catch (e) {
      throw new AuthConfigError(`error parsing public key JWTValidationPubKeys[${i}]: ${(e as Error).message}`);
    }
  });
  if (c.OIDCDiscoveryURL === '' && c.OIDCDiscoveryCACert !== '') throw new AuthConfigError(`'OIDCDiscoveryCACert' should not be set unless 'OIDCDiscoveryURL' is set`);
  for (const a of c.JWTSupportedAlgs) if (!SUPPORTED_ALGS.includes(a)) throw new AuthConfigError(`Invalid supported algorithm: ${a}`);
  for (const [what, m] of [['ClaimMappings', c.ClaimMappings], ['ListClaimMappings', c.ListClaimMappings]] as const) {
    const seen = new Set<string>();
    for (const target of Object.values(m)) {
      if (seen.has(target)) throw new AuthConfigError(`${what} contains multiple mappings for key ${JSON.stringify(target)}`);
      seen.add(target);
    }
  }
  return c;
}

/**
 * The remote checks: a JWKSURL must serve a key set, an OIDCDiscoveryURL a discovery document
 * (Consul fetches both when the method is written). Texts as go-oidc's.
 */
export async function checkJWTRemote(c: JWTConfig): Promise<void> {
  if (c.JWKSURL !== '') {
    try {
      await fetchKeySet(c.JWKSURL, c.JWKSCACert);
    } catch (e) {
      throw new AuthConfigError(`error checking JWKSURL: fetching keys ${(e as Error).message}`);
    }
  }
  if (c.OIDCDiscoveryURL !== '') {
    try {
      await discover(c.OIDCDiscoveryURL, c.OIDCDiscoveryCACert);
    } catch (e) {
      throw new AuthConfigError(`error checking OIDCDiscoveryURL: ${(e as Error).message}`);
    }
  }
}

/** A JSON Web Key Set, fetched as go-oidc's remoteKeySet.updateKeys. */
export async function fetchKeySet(url: string, caCert: string): Promise<{ keys: Record<string, unknown>[] }> {
  const r = await fetchJSON(url, caCert, 'oidc: get keys failed');
  if (!isPlainObject(r) || !Array.isArray(r.keys)) throw new Error(`oidc: failed to decode keys: json: cannot unmarshal into jose.JSONWebKeySet`);
  return { keys: r.keys.filter(isPlainObject) };
}

/** go-oidc NewProvider: the discovery document, whose issuer must be the URL itself. */
export async function discover(base: string, caCert: string): Promise<{ issuer: string; jwksURI: string }> {
  const url = `${base.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = await fetchJSON(url, caCert, 'oidc: get discovery document failed');
  const issuer = isPlainObject(doc) && typeof doc.issuer === 'string' ? doc.issuer : '';
  const jwksURI = isPlainObject(doc) && typeof doc.jwks_uri === 'string' ? doc.jwks_uri : '';
  if (issuer !== base) throw new Error(`oidc: issuer did not match the issuer returned by provider, expected ${JSON.stringify(base)} got ${JSON.stringify(issuer)}`);
  return { issuer, jwksURI };
}
