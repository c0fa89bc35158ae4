// Errors the state machine answers with. A refused command (Consul's apply-time errors: "missing
// session", "Missing node registration") is the client's problem, not a failure of the server.

export class ApplyError extends Error {}
