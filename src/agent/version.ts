// The Consul version Tribune answers as (agent/self, members' build tag, the consul service's Meta).

export const CONSUL_VERSION = '1.10.3';
/** Stands where Consul reports its git commit. */
export const CONSUL_REVISION = 'tribune';
/** raft_version, serf and delegate protocol versions a Consul 1.10 server advertises. */
export const RAFT_VERSION = 3;
export const SERF_PROTOCOL = { min: 1, max: 5, cur: 2 } as const;
export const DELEGATE_PROTOCOL = { min: 2, max: 5, cur: 4 } as const;
/** Consul's own protocol (vsn tags). */
export const CONSUL_PROTOCOL = { min: 2, max: 3, cur: 2 } as const;
