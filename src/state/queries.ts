// The prepared-queries table (Consul's state/prepared_query.go): by ID, with derived lookups by
// lower-cased name, by template prefix and by session. Templates are compiled when stored, so a
// bad one is refused by the apply and rendering never has to compile.

import { BTree } from '../util/btree.js';
import { isUUID } from '../util/ids.js';
import { ApplyError } from './errors.js';
import { compileTemplate, type CompiledTemplate, renderTemplate, TemplateError } from './query-template.js';
import type { PreparedQuery, PreparedQueryInput } from './query-types.js';
import type { ChangeSet, WatchSet } from './watch.js';

export const queryTopic = 'prepared-queries';

export interface QueriesImage {
  queries: BTree<string, PreparedQuery>;
  index: number;
}

/** What resolving an ID or name found: the query (rendered, for a template), or an error text. */
export type Resolved = { query: PreparedQuery } | { error: string } | null;

export class QueryTables {
  private readonly byName = new Map<string, string>();
  /** Compiled templates by ID; their lower-cased names are the prefixes they match. */
  private readonly templates = new Map<string, CompiledTemplate>();
  private readonly bySession = new Map<string, Set<string>>();

  constructor(
    readonly queries: BTree<string, PreparedQuery> = new BTree<string, PreparedQuery>(),
    public index = 0,
  ) {
    for (const q of queries.values()) this.link(q, q.Template.Type !== '' ? compileTemplate(q) : null);
  }

  image(): QueriesImage {
    return { queries: this.queries.clone(), index: this.index };
  }

  private link(q: PreparedQuery, ct: CompiledTemplate | null): void {
    if (q.Name !== '') this.byName.set(q.Name.toLowerCase(), q.ID);
    if (ct) this.templates.set(q.ID, ct);
    if (q.Session !== '') {
      let s = this.bySession.get(q.Session);
      if (!s) this.bySession.set(q.Session, (s = new Set()));
      s.add(q.ID);
    }
  }

  private unlink(q: PreparedQuery): void {
    if (q.Name !== '') this.byName.delete(q.Name.toLowerCase());
    this.templates.delete(q.ID);
    const s = this.bySession.get(q.Session);
    s?.delete(q.ID);
    if (s?.size === 0) this.bySession.delete(q.Session);
  }

  get(id: string, ws?: WatchSet): PreparedQuery | undefined {
    ws?.topic(queryTopic);
    return this.queries.get(id);
  }

  list(ws?: WatchSet): PreparedQuery[] {
    ws?.topic(queryTopic);
    return this.queries.valuesArray();
  }

  /** preparedQuerySetTxn: names unique (case-insensitively) and never another query's ID, the session alive, templates compiled. */
  set(idx: number, ch: ChangeSet, q: PreparedQueryInput, update: boolean, sessionExists: (id: string) => boolean): PreparedQuery {
    const existing = this.queries.get(q.ID);
    if (update && !existing) throw new ApplyError(`Cannot modify non-existent prepared query: '${q.ID}'`);
    if (!update && existing) throw new ApplyError(`prepared query ${q.ID} already exists`);
    if (q.Name !== '') {
      const other = this.byName.get(q.Name.toLowerCase());
      if (other !== undefined && other !== q.ID) throw new ApplyError(`name '${q.Name}' aliases an existing query name`);
    } else if (q.Template.Type !== '') {
      for (const [id, ct] of this.templates) if (ct.query.Name === '' && id !== q.ID) throw new ApplyError('a query template with an empty name already exists');
    }
    if (isUUID(q.Name) && this.queries.has(q.Name.toLowerCase())) throw new ApplyError(`name '${q.Name}' aliases an existing query ID`);
    if (q.Session !== '' && !sessionExists(q.Session)) throw new ApplyError(`invalid session ${JSON.stringify(q.Session)}`);
    const stored: PreparedQuery = { ...q, CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx };
    let ct: CompiledTemplate | null = null;
    if (q.Template.Type !== '') {
      try {
        ct = compileTemplate(stored);
      } catch (e) {
        throw new ApplyError(`failed compiling template: ${e instanceof TemplateError ? e.message : String(e)}`);
      }
    }
    if (existing) this.unlink(existing);
    this.queries.set(q.ID, stored);
    this.link(stored, ct);
    this.touch(idx, ch);
    return stored;
  }

  delete(idx: number, ch: ChangeSet, id: string): boolean {
    const q = this.queries.get(id);
    if (!q) return false;
    this.unlink(q);
    this.queries.delete(id);
    this.touch(idx, ch);
    return true;
  }

  /** Consul's session invalidation deletes the queries bound to the session. */
  deleteBySession(idx: number, ch: ChangeSet, session: string): void {
    for (const id of [...(this.bySession.get(session) ?? [])]) this.delete(idx, ch, id);
  }

  /** Deletes queries whose session is gone (after a transaction that may have destroyed some). */
  deleteOrphans(idx: number, ch: ChangeSet, sessionExists: (id: string) => boolean): void {
    for (const s of [...this.bySession.keys()]) if (!sessionExists(s)) this.deleteBySession(idx, ch, s);
  }

  private touch(idx: number, ch: ChangeSet): void {
    this.index = idx;
    ch.topics.add(queryTopic);
  }

  /** PreparedQueryResolve: by ID, then exact name, then the template with the longest matching prefix. */
  resolve(idOrName: string, segment: string): Resolved {
    if (idOrName === '') return { error: 'Missing query ID' };
    if (isUUID(idOrName)) {
      const q = this.queries.get(idOrName.toLowerCase()) ?? this.queries.get(idOrName);
      if (q) return q.Template.Type !== '' ? { error: 'prepared query templates can only be resolved up by name, not by ID' } : { query: q };
    }
    const render = (id: string): Resolved => {
      const ct = this.templates.get(id);
      if (!ct) return { query: this.queries.get(id)! };
      try {
        return { query: renderTemplate(ct, idOrName, segment) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    };
    const lower = idOrName.toLowerCase();
    const named = this.byName.get(lower);
    if (named !== undefined) return render(named);
    let best: string | null = null;
    let bestLen = -1;
    for (const [id, ct] of this.templates) {
      const p = ct.query.Name.toLowerCase();
      if (lower.startsWith(p) && p.length > bestLen) [best, bestLen] = [id, p.length];
    }
    return best === null ? null : render(best);
  }
}
