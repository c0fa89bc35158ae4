// Connect.SidecarService: the proxy service Consul registers beside a service
// (sidecarServiceFromNodeService): ID "<id>-sidecar-proxy", kind connect-proxy, the parent as
// its destination, a port from the sidecar range, and by default a TCP check on that port plus
// an alias of the parent's health.

import { type CheckType, decodeServiceDefinition, definitionToService, emptyCheckType, type LocalService, serviceCheckTypes } from './definitions.js';

/** Consul's default ports.sidecar_min_port / sidecar_max_port. */
export const SIDECAR_MIN_PORT = 21000;
export const SIDECAR_MAX_PORT = 21255;

const hostForPort = (h: string): string => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);

export const sidecarID = (parentID: string): string => `${parentID}-sidecar-proxy`;

/** Is `svc` the sidecar registered for `parentID` (so it goes when the parent goes)? */
export function isSidecarOf(svc: LocalService, parentID: string): boolean {
  return svc.ID === sidecarID(parentID) && svc.Kind === 'connect-proxy' && svc.Proxy.DestinationServiceID === parentID;
}

/**
 * Builds the sidecar of `parent` from its SidecarService definition. `others` are the agent's
 * current services (for the port choice). Throws with the reason when the definition is bad
 * or no port is left.
 */
export function sidecarFor(parent: LocalService, raw: unknown, others: readonly LocalService[]): { svc: LocalService; chkTypes: CheckType[] } {
  const def = decodeServiceDefinition(raw ?? {});
  const id = sidecarID(parent.ID);
  const svc = definitionToService({ ...def, ID: id, Name: def.Name || `${parent.Service}-sidecar-proxy`, Kind: def.Kind || 'connect-proxy' });
  if (!svc.Meta || Object.keys(svc.Meta).length === 0) svc.Meta = parent.Meta && Object.keys(parent.Meta).length > 0 ? { ...parent.Meta } : svc.Meta;
  if (svc.Tags.length === 0 && parent.Tags.length > 0) svc.Tags = [...parent.Tags];
  const proxy = { ...svc.Proxy };
  if (!proxy.DestinationServiceName) proxy.DestinationServiceName = parent.Service;
  if (!proxy.DestinationServiceID) proxy.DestinationServiceID = parent.ID;
  if (!proxy.LocalServiceAddress) proxy.LocalServiceAddress = '127.0.0.1';
  if (!(typeof proxy.LocalServicePort === 'number' && proxy.LocalServicePort > 0)) proxy.LocalServicePort = parent.Port;
  svc.Proxy = proxy;
  if (svc.Port < 1) {
    // Keep the port a re-registered sidecar already has; else the first free one in the range.
    const existing = others.find((o) => o.ID === id);
    if (existing && existing.Port >= SIDECAR_MIN_PORT && existing.Port <= SIDECAR_MAX_PORT) svc.Port = existing.Port;
    else {
      const used = new Set(others.filter((o) => o.ID !== id).map((o) => o.Port));
      for (let p = SIDECAR_MIN_PORT; p <= SIDECAR_MAX_PORT; p++) {
        if (!used.has(p)) {
          svc.Port = p;
          break;
        }
      }
    }
    if (svc.Port < 1) throw new Error(`no port provided for sidecar_service and none left in the configured range [${SIDECAR_MIN_PORT}, ${SIDECAR_MAX_PORT}]`);
  }
  let chkTypes = serviceCheckTypes(def);
  if (chkTypes.length === 0) {
    chkTypes = [
      { ...emptyCheckType(), Name: 'Connect Sidecar Listening', TCP: `${hostForPort(String(proxy.LocalServiceAddress))}:${svc.Port}`, Interval: 10e9 },
      { ...emptyCheckType(), Name: `Connect Sidecar Aliasing ${parent.ID}`, AliasService: parent.ID },
    ];
  }
  return { svc, chkTypes };
}
