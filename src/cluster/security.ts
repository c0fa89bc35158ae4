// How agents authenticate each other on the agent-to-agent channel.
//   - `encrypt` alone: TLS 1.2 with a pre-shared key (ECDHE-PSK, forward secret). A peer without
//     the key fails the handshake, so it can neither join nor read or forge traffic.
//   - TLS files (cert_file/key_file, ca_file): certificate TLS with verify_incoming/outgoing and
//     verify_server_hostname as Consul's RPC TLS. With `encrypt` too, every request also carries an
//     HMAC of the session's exported keying material, so the key is proven on that very session.
//   - neither: plain HTTP/2 (h2c), as an unencrypted Consul cluster.

import crypto from 'node:crypto';
import fs from 'node:fs';
import type tls from 'node:tls';
import { gossipKey } from '../config/build.js';
import type { ClusterConfig } from '../config/types.js';

const PSK_IDENTITY = 'tribune';
const PSK_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES256-CBC-SHA384';
const EXPORT_LABEL = 'EXPORTER-tribune-gossip-key';
/** The request header that carries the key proof when certificates carry the session. */
export const KEY_PROOF_HEADER = 'x-tribune-key-proof';

export interface ChannelSecurity {
  /** The gossip key (raw bytes), or null. */
  key: Buffer | null;
  /** Certificate TLS, when configured. */
  certs: { ca: Buffer | null; cert: Buffer; key: Buffer; verifyIncoming: boolean; verifyOutgoing: boolean; verifyServerHostname: boolean } | null;
  /** The name verify_server_hostname expects on a server's certificate: server.<dc>.<domain>. */
  serverName: string;
}

export const PLAIN: ChannelSecurity = { key: null, certs: null, serverName: '' };

export function channelSecurity(c: ClusterConfig, datacenter: string, domain: string): ChannelSecurity {
  const key = c.encrypt === '' ? null : gossipKey(c.encrypt);
  const t = c.tls;
  const certs =
    t.certFile !== '' && t.keyFile !== ''
      ? {
          ca: t.caFile !== '' ? fs.readFileSync(t.caFile) : null,
          cert: fs.readFileSync(t.certFile),
          key: fs.readFileSync(t.keyFile),
          verifyIncoming: t.verifyIncoming,
          verifyOutgoing: t.verifyOutgoing,
          verifyServerHostname: t.verifyServerHostname,
        }
      : null;
  return { key, certs, serverName: `server.${datacenter}.${domain.replace(/\.$/, '')}` };
}

export const isSecure = (s: ChannelSecurity): boolean => s.key !== null || s.certs !== null;

/** Options for http2.createSecureServer (only when isSecure). */
export function serverTLS(s: ChannelSecurity): tls.TlsOptions {
  if (s.certs) {
    const c = s.certs;
    return { cert: c.cert, key: c.key, ...(c.ca ? { ca: c.ca } : {}), requestCert: c.verifyIncoming, rejectUnauthorized: c.verifyIncoming, minVersion: 'TLSv1.2' };
  }
  const key = s.key!;
  return {
    ciphers: PSK_CIPHERS,
    maxVersion: 'TLSv1.2',
    minVersion: 'TLSv1.2',
    pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? key : null),
  };
}

/** Options for http2.connect to a peer (only when isSecure). */
export function clientTLS(s: ChannelSecurity, toServer: boolean): tls.ConnectionOptions {
  if (s.certs) {
    const c = s.certs;
    const verify = c.verifyOutgoing;
    return {
      cert: c.cert,
      key: c.key,
      ...(c.ca ? { ca: c.ca } : {}),
      rejectUnauthorized: verify,
      minVersion: 'TLSv1.2',
      // Consul checks server.<dc>.<domain> only with verify_server_hostname; otherwise any
      // certificate the CA signed will do.
      checkServerIdentity: (_host, cert) => (verify && toServer && c.verifyServerHostname ? checkName(s.serverName, cert) : undefined),
      ...(c.verifyServerHostname ? { servername: s.serverName } : {}),
    };
  }
  const key = s.key!;
  return {
    ciphers: PSK_CIPHERS,
    maxVersion: 'TLSv1.2',
    minVersion: 'TLSv1.2',
    pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
    // PSK sessions carry no certificate to check.
    checkServerIdentity: () => undefined,
  };
}

function checkName(name: string, cert: tls.PeerCertificate): Error | undefined {
  const alt = (cert.subjectaltname ?? '').split(/,\s*/).map((s) => s.replace(/^DNS:/, ''));
  if (alt.includes(name) || cert.subject?.CN === name) return undefined;
  return new Error(`x509: certificate is valid for ${alt.join(', ') || cert.subject?.CN}, not ${name}`);
}

/** The key proof for one TLS session (certificate mode with `encrypt`). */
export function keyProof(key: Buffer, socket: tls.TLSSocket): string {
  return crypto.createHmac('sha256', key).update(socket.exportKeyingMaterial(32, EXPORT_LABEL, Buffer.alloc(0))).digest('base64');
}

/** Whether a request on `socket` proved the key (always true when no proof is needed). */
export function proofOK(s: ChannelSecurity, socket: tls.TLSSocket | null, header: string | string[] | undefined): boolean {
  if (!s.certs || !s.key) return true;
  if (!socket || typeof header !== 'string') return false;
  const want = Buffer.from(keyProof(s.key, socket));
  const got = Buffer.from(header);
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}
