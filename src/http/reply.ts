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
