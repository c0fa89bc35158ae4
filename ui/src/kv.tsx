// Key/Value: browse folders, view a value (text, JSON pretty-printed, binary as base64), create,
// edit and delete with check-and-set, so a concurrent change is reported instead of overwritten.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, request, useLive } from './api';
import { href, navigate, settings } from './router';
import type { KVPair } from './types';
import { Empty, ErrorBox, Updated } from './util';

function kvHref(key: string, suffix = ''): string {
  return href(`${settings.datacenter}/kv/${enc(key)}${suffix}`);
}

function Crumbs({ path }: { path: string }) {
  const parts = path.split('/').filter((p) => p !== '');
  let acc = '';
  return (
    <nav class="crumbs">
      <a href={href(`${settings.datacenter}/kv/`)}>Key/Value</a>
      {parts.map((p, i) => {
        acc += p + '/';
        const last = i === parts.length - 1 && !path.endsWith('/');
        return (
          <>
            {' / '}
            {last ? <span>{p}</span> : <a href={kvHref(acc)}>{p}</a>}
          </>
        );
      })}
    </nav>
  );
}

export function KVFolder({ prefix }: { prefix: string }) {
  const live = useLive<string[]>(`/v1/kv/${enc(prefix)}?keys&separator=/`);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [err, setErr] = useState<Error | null>(null);
  const notFound = live.error instanceof ApiError && live.error.status === 404;
  const keys = (live.data ?? []).filter((k) => k !== prefix);
  const del = async (key: string): Promise<void> => {
    try {
      await request('DELETE', `/v1/kv/${enc(key)}?recurse`);
      setConfirm(null);
    } catch (e) {
      setErr(e as Error);
    }
  };
  return (
    <section>
      <Crumbs path={prefix} />
      <header class="view-head">
        <h1>{prefix === '' ? 'Key/Value' : prefix}</h1>
        <Updated at={live.updated} />
      </header>
      <div class="toolbar">
        <a class="button" href={kvHref(prefix, 'create')}>
          Create
        </a>
      </div>
      {live.error && !notFound ? <ErrorBox error={live.error} /> : null}
      {err ? <ErrorBox error={err} /> : null}
      {notFound || (live.data !== undefined && keys.length === 0) ? <Empty>{prefix === '' ? 'The store is empty. Create a key to start.' : 'This folder is empty.'}</Empty> : null}
      <ul class="rows" data-list>
        {keys.map((k) => {
          const folder = k.endsWith('/');
          const label = k.slice(prefix.length);
          return (
            <li class="kv-row">
              <a class="row" href={folder ? kvHref(k) : kvHref(k, '/edit')} data-row data-key={k}>
                <span class="name">
                  <span aria-hidden="true">{folder ? '📁 ' : '📄 '}</span>
                  {label}
                </span>
                <span class="muted">{folder ? 'folder' : 'key'}</span>
              </a>
              {folder ? (
                confirm === k ? (
                  <span class="confirm" role="alertdialog" aria-label={`Delete ${k}`}>
                    Delete {k} and every key under it?{' '}
                    <button class="danger" onClick={() => void del(k)}>
                      Yes, delete all
                    </button>{' '}
                    <button class="secondary" onClick={() => setConfirm(null)}>
                      Cancel
                    </button>
                  </span>
                ) : (
                  <button class="secondary small" onClick={() => setConfirm(k)} aria-label={`Delete folder ${k}`}>
                    Delete
                  </button>
                )
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function decode(b64: string | null): { text: string | null; bytes: number } {
  if (!b64) return { text: '', bytes: 0 };
  const bin = atob(b64);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))), bytes: bin.length };
  } catch {
    return { text: null, bytes: bin.length };
  }
}

function pretty(text: string): string | null {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}

/** A key's page: the stored value (live) and an editor holding the ModifyIndex it was opened at. */
export function KVKey({ keyName }: { keyName: string }) {
  const live = useLive<KVPair[]>(`/v1/kv/${enc(keyName)}`);
  const pair = live.data?.[0];
  const [draft, setDraft] = useState<string | null>(null);
  const [base, setBase] = useState(0);
  const [msg, setMsg] = useState<{ kind: 'ok' | 'conflict' | 'error'; text: string } | null>(null);
  const [asJSON, setAsJSON] = useState(true);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const value = pair ? decode(pair.Value) : null;
  // The editor starts from the first value seen; later changes are shown, not pushed into it.
  useEffect(() => {
    if (pair && draft === null) {
      setDraft(value?.text ?? '');
      setBase(pair.ModifyIndex);
    }
  }, [pair?.ModifyIndex]);
  const changedBehind = pair !== undefined && base !== 0 && pair.ModifyIndex !== base;
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const out = await request<boolean>('PUT', `/v1/kv/${enc(keyName)}?cas=${base}`, draft ?? '');
      if (out.body === true) {
        // The editor now stands on what was just written: its index is the base of the next save.
        const fresh = await request<KVPair[]>('GET', `/v1/kv/${enc(keyName)}`);
        setBase(fresh.body[0]?.ModifyIndex ?? 0);
        setMsg({ kind: 'ok', text: 'Saved.' });
      } else setMsg({ kind: 'conflict', text: `Not saved: ${keyName} was changed by someone else since you opened it (it was at index ${base}). Your edit is kept in the editor: load the stored value to merge, then save again.` });
    } catch (err) {
      setMsg({ kind: 'error', text: (err as Error).message });
    }
  };
  const remove = async (): Promise<void> => {
    try {
      const out = await request<boolean>('DELETE', `/v1/kv/${enc(keyName)}?cas=${base}`);
      if (out.body === true) {
        const parent = keyName.includes('/') ? keyName.slice(0, keyName.lastIndexOf('/') + 1) : '';
        navigate(`${settings.datacenter}/kv/${enc(parent)}`);
      } else setMsg({ kind: 'conflict', text: `Not deleted: ${keyName} was changed by someone else since you opened it.` });
    } catch (err) {
      setMsg({ kind: 'error', text: (err as Error).message });
    }
    setConfirmDelete(false);
  };
  const notFound = live.error instanceof ApiError && live.error.status === 404;
  const json = value?.text ? pretty(value.text) : null;
  return (
    <section>
      <Crumbs path={keyName} />
      <header class="view-head">
        <h1>{keyName}</h1>
        <Updated at={live.updated} />
      </header>
      {notFound ? <Empty>This key does not exist (it may have been deleted).</Empty> : live.error ? <ErrorBox error={live.error} /> : null}
      {pair && value ? (
        <>
          <dl class="facts">
            <dt>Flags</dt>
            <dd>{pair.Flags}</dd>
            <dt>Session</dt>
            <dd>{pair.Session ? <code>{pair.Session}</code> : <span class="muted">not locked</span>}</dd>
            <dt>Lock index</dt>
            <dd>{pair.LockIndex}</dd>
            <dt>Indexes</dt>
            <dd>
              created {pair.CreateIndex}, modified <span data-modify-index>{pair.ModifyIndex}</span>
            </dd>
            <dt>Size</dt>
            <dd>{value.bytes} bytes</dd>
          </dl>
          <h2>Stored value</h2>
          {value.text === null ? (
            <>
              <p class="muted">Binary value, shown as base64.</p>
              <pre class="value">{pair.Value}</pre>
            </>
          ) : json !== null ? (
            <>
              <label class="inline">
                <input type="checkbox" checked={asJSON} onChange={(e) => setAsJSON(e.currentTarget.checked)} /> JSON, pretty-printed
              </label>
              <pre class="value">{asJSON ? json : value.text}</pre>
            </>
          ) : (
            <pre class="value">{value.text}</pre>
          )}
          {changedBehind ? (
            <p class="warn" role="status">
              The stored value changed since you opened the editor (index {base} → {pair.ModifyIndex}).{' '}
              <button
                class="secondary small"
                onClick={() => {
                  setDraft(value.text ?? '');
                  setBase(pair.ModifyIndex);
                  setMsg(null);
                }}
              >
                Load it into the editor
              </button>
            </p>
          ) : null}
          <h2>Edit</h2>
          <form class="kv-form" onSubmit={save}>
            <textarea name="value" rows={8} aria-label="Value" value={draft ?? ''} onInput={(e) => setDraft(e.currentTarget.value)} />
            <div class="toolbar">
              <button type="submit">Save</button>
              {confirmDelete ? (
                <span class="confirm" role="alertdialog">
                  Delete {keyName}?{' '}
                  <button type="button" class="danger" onClick={() => void remove()}>
                    Yes, delete
                  </button>{' '}
                  <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>
                    Cancel
                  </button>
                </span>
              ) : (
                <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              )}
            </div>
          </form>
        </>
      ) : null}
      {msg ? (
        <p class={msg.kind === 'ok' ? 'ok' : 'error'} role={msg.kind === 'ok' ? 'status' : 'alert'} data-kv-message={msg.kind}>
          {msg.text}
        </p>
      ) : null}
    </section>
  );
}

/** Create a key (or a folder, when the name ends in /) under `prefix`; cas=0 refuses to replace one that exists. */
export function KVCreate({ prefix }: { prefix: string }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const key = prefix + name.replace(/^\/+/, '');
    if (name.trim() === '') return setErr('Give the key a name.');
    try {
      const out = await request<boolean>('PUT', `/v1/kv/${enc(key)}?cas=0`, key.endsWith('/') ? '' : value);
      if (out.body !== true) return setErr(`${key} exists already: open it to edit it.`);
      navigate(`${settings.datacenter}/kv/${enc(key)}${key.endsWith('/') ? '' : '/edit'}`);
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  return (
    <section>
      <Crumbs path={prefix} />
      <header class="view-head">
        <h1>Create a key in {prefix === '' ? 'the root' : prefix}</h1>
      </header>
      <form class="kv-form" onSubmit={submit}>
        <label>
          Key or folder (end with / for a folder)
          <input name="key" value={name} autoFocus onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        {name.endsWith('/') ? null : (
          <label>
            Value
            <textarea name="value" rows={8} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
        )}
        <div class="toolbar">
          <button type="submit">Save</button>
          <a class="button secondary" href={href(`${settings.datacenter}/kv/${enc(prefix)}`)}>
            Cancel
          </a>
        </div>
      </form>
      {err ? (
        <p class="error" role="alert">
          {err}
        </p>
      ) : null}
    </section>
  );
}
