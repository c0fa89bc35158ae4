import { startAgent } from './dist/test/helpers/agent.js';
import { request } from './dist/test/helpers/http.js';
const a = await startAgent({ nodeName: 'x', logLevel: 'DEBUG', storage: { etcd: { endpoints: ['http://127.0.0.1:23790'], prefix: 'dbg' + Date.now(), dialTimeoutMs: 5000, requestTimeoutMs: 2000, tls: null } } });
console.log('started');
console.log((await request(a.base, 'PUT', '/v1/kv/a', 'b')).text);
await a.stop();
console.log('stopped');
