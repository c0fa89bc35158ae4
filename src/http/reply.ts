// What a handler answers. The dispatcher turns it into bytes (adding ?pretty formatting).

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A JSON value to encode, or pre-encoded JSON text (hot paths build it directly; a Buffer
   * when one encoded answer is shared by many replies). */
  json?: unknown;
  jsonText?: string | Buffer;
  /** A raw body with its own content type. */
  body?: string | Buffer;
  contentType?: string;
}

export const json = (value: unknown, headers?: Record<string, string>, status = 200): Reply => ({ status, json: value, ...(headers ? { headers } : {}) });
export const jsonText = (text: string | Buffer, headers?: Record<string, string>, status = 200): Reply => ({ status, jsonText: text, ...(headers ? { headers } : {}) });
export const empty = (status = 200, headers?: Record<string, string>): Reply => ({ status, ...(headers ? { headers } : {}) });
export const text = (body: string | Buffer, contentType: string, headers?: Record<string, string>, status = 200): Reply => ({
  status,
  body,
  contentType,
  ...(headers ? { headers } : {}),
});

/**
 * A header value built from client input, made writable: CR and LF become spaces, as Go's server
 * writes them (headerNewlineToSpace), and so do other control characters, which Node refuses to
 * send. Node puts header text on the wire as UTF-8 but refuses characters past U+00FF; those are
 * sent percent-encoded, so the value stays readable and the reply is never refused.
 */
export function headerSafe(value: string): string {
  return value.replace(CONTROL, ' ').replace(BEYOND_LATIN1, pctEncode);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
const BEYOND_LATIN1 = /[^\x20-\xff\t]+/gu; // after CONTROL, only what is past U+00FF is left to match

/** %XX for each UTF-8 byte (Buffer turns a lone surrogate into U+FFFD where encodeURIComponent throws). */
function pctEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  return out;
}
