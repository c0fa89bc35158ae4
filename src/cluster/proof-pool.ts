// HTTP/1.1 connections to one server in certificate mode with `encrypt`, where every request
// carries an HMAC of its own TLS session's keying material (security.ts). A pool that picks a
// socket after the request is made cannot write that header, so here each connection is opened
// first (handshake done, proof computed) and then given to its own undici Client; a request goes
// to an idle connection, or a new one, with that connection's proof.

import tls from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { H1_IDLE_MS } from './forward-h1.js';
import { clientTLS, KEY_PROOF_HEADER, keyProof, type ChannelSecurity } from './security.js';

interface Conn {
  client: Client;
  sock: tls.TLSSocket;
  proof: string;
}

/** A controller for a request that never reached a connection (its handshake failed). */
function failed(e: Error): Dispatcher.DispatchController {
  return { aborted: true, paused: false, reason: e, abort: () => undefined, pause: () => undefined, resume: () => undefined };
}

export class ProofPool {
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private closed = false;
  private readonly host: string;
  private readonly port: number;

  constructor(
    private readonly addr: string,
    private readonly sec: ChannelSecurity,
    private readonly toServer: boolean,
  ) {
    const i = addr.lastIndexOf(':');
    this.host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    this.port = Number(addr.slice(i + 1));
  }

  /** Sends one request (its headers a flat list) with the key proof of the connection it goes on. */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let c: Conn | undefined;
    while ((c = this.idle.pop()) && c.sock.destroyed);
    if (c) this.run(c, opts, handler);
    else
      this.open().then(
        (n) => this.run(n, opts, handler),
        (e: Error) => handler.onResponseError?.(failed(e), e),
      );
    return true;
  }

  private run(c: Conn, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    const headers = [...(Array.isArray(opts.headers) ? opts.headers : []), KEY_PROOF_HEADER, c.proof];
    c.client.dispatch(
      { ...opts, headers },
      {
        onRequestStart: (ctl, ctx: unknown) => handler.onRequestStart?.(ctl, ctx),
        onResponseStart: (ctl, status, h, text) => handler.onResponseStart?.(ctl, status, h, text),
        onResponseData: (ctl, chunk) => handler.onResponseData?.(ctl, chunk),
        onResponseEnd: (ctl, trailers) => {
          handler.onResponseEnd?.(ctl, trailers);
          if (!c.sock.destroyed && !this.closed) this.idle.push(c);
        },
        onResponseError: (ctl, e) => {
          // Whatever broke, this connection is not reused.
          c.sock.destroy();
          handler.onResponseError?.(ctl, e);
        },
      },
    );
  }

  private open(): Promise<Conn> {
    if (this.closed) return Promise.reject(new Error('the connection pool is closed'));
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ host: this.host, port: this.port, ...clientTLS(this.sec, this.toServer), ALPNProtocols: ['http/1.1'] });
      sock.setNoDelay(true);
      sock.once('error', reject);
      sock.once('secureConnect', () => {
        sock.off('error', reject);
        // Errors end the connection ('close' below); the client reports them to its request.
        sock.on('error', () => undefined);
        let given = false;
        const client = new Client(`http://${this.addr}`, {
          pipelining: 1,
          headersTimeout: 0,
          bodyTimeout: 0,
          keepAliveTimeout: H1_IDLE_MS,
          keepAliveMaxTimeout: H1_IDLE_MS,
          // This client's one connection is the socket already open; it never dials another.
          // (Answered on the next tick: undici does not expect its connector to call back at once.)
          connect: (_o, cb) => {
            const first = !given;
            given = true;
            process.nextTick(() => (first ? cb(null, sock) : cb(new Error('the connection closed'), null)));
          },
        });
        const c: Conn = { client, sock, proof: keyProof(this.sec.key!, sock) };
        this.all.add(c);
        sock.once('close', () => {
          this.all.delete(c);
          const i = this.idle.indexOf(c);
          if (i !== -1) this.idle.splice(i, 1);
          void client.destroy().catch(() => undefined);
        });
        resolve(c);
      });
    });
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    for (const c of this.all) {
      c.sock.destroy();
      void c.client.destroy().catch(() => undefined);
    }
  }
}
