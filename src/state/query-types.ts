// Prepared queries as Consul 1.10 stores and serialises them (structs.PreparedQuery). Lists and
// maps a client left out are null, as Go's nil slices and maps encode.

export interface ServiceQuery {
  Service: string;
  Failover: { NearestN: number; Datacenters: string[] | null };
  OnlyPassing: boolean;
  IgnoreCheckIDs: string[] | null;
  Near: string;
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Connect: boolean;
}

export interface PreparedQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: { Type: string; Regexp: string; RemoveEmptyTags: boolean };
  Service: ServiceQuery;
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

export type PreparedQueryInput = Omit<PreparedQuery, 'CreateIndex' | 'ModifyIndex'>;
