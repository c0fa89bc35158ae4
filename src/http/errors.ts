// Consul answers errors as plain text with a status code; handlers throw HttpError to do the same.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (reason: string): HttpError => new HttpError(400, reason);
export const notFound = (reason = ''): HttpError => new HttpError(404, reason);
export const permissionDenied = (): HttpError => new HttpError(403, 'Permission denied');
export const tooLarge = (reason: string): HttpError => new HttpError(413, reason);
export const serverError = (reason: string): HttpError => new HttpError(500, reason);

export function methodNotAllowed(method: string, allow: readonly string[]): HttpError {
  return new HttpError(405, `method ${method} not allowed`, { Allow: allow.join(',') });
}
