// Client-side routing on Consul UI's paths (/ui/<dc>/services, …/kv/<path>/, …): the agent
// answers index.html for every path under the content path, and this maps it to a view.

import { useEffect, useState } from 'preact/hooks';

export interface Settings {
  datacenter: string;
  contentPath: string;
  aclsEnabled: boolean;
}

/** What the agent put in index.html's meta tag (a meta, not a script: the CSP allows no inline code). */
export function readSettings(): Settings {
  const raw = document.querySelector('meta[name="tribune-ui-settings"]')?.getAttribute('content') ?? '';
  try {
    const s = JSON.parse(decodeURIComponent(raw)) as Partial<Settings>;
    return { datacenter: s.datacenter ?? 'dc1', contentPath: s.contentPath ?? '/ui/', aclsEnabled: s.aclsEnabled ?? false };
  } catch {
    return { datacenter: 'dc1', contentPath: '/ui/', aclsEnabled: false };
  }
}

export const settings = readSettings();

/** An app path (`/dc1/services`) as a URL under the content path. */
export function href(p: string): string {
  return settings.contentPath + p.replace(/^\//, '');
}

export function navigate(p: string, replace = false): void {
  const url = href(p);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event('tribune:navigate'));
}

/** The path after the content path, kept escaped ('' for the root). */
function current(): string {
  const p = location.pathname;
  return p.startsWith(settings.contentPath) ? p.slice(settings.contentPath.length) : '';
}

export function useRoute(): string {
  const [path, setPath] = useState(current());
  useEffect(() => {
    const on = (): void => setPath(current());
    window.addEventListener('popstate', on);
    window.addEventListener('tribune:navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('tribune:navigate', on);
    };
  }, []);
  return path;
}

/** Same-origin links are followed by the router, without a page load. */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest('a');
    if (!a || a.target || a.origin !== location.origin || !a.pathname.startsWith(settings.contentPath)) return;
    e.preventDefault();
    history.pushState(null, '', a.pathname + a.search);
    window.dispatchEvent(new Event('tribune:navigate'));
  });
}
