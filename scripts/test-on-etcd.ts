// Runs a set of the existing socket suites a second time with their agents on an etcd log
// (TRIBUNE_TEST_ETCD), so `npm test` checks both backends with one conformance suite.
// Starts one real etcd member on free loopback ports with a temporary data dir, and always
// stops it and removes the dir, whatever the tests do.
//
//   node dist/scripts/test-on-etcd.js [test dirs or files...]

import { spawn } from 'node:child_process';
import { startEtcd } from '../test/helpers/etcd.js';

// The suites whose answers do not depend on the backend (about 2 minutes more on a 2-core
// machine). Left out: unit and fuzz (pure parts, no agents), process (the embedded log's files,
// locks and crash recovery), ui (a browser over the same API), etcd (starts its own members).
const DEFAULT_DIRS = ['http', 'catalog', 'sessions', 'query', 'dns', 'acl', 'agent', 'operator', 'coordinate', 'clients', 'cli', 'cluster', 'config'].map((d) => `dist/test/${d}`);

async function main(): Promise<number> {
  const targets = process.argv.slice(2);
  const etcd = await startEtcd(1);
  const stopOnSignal = (): void => {
    void etcd.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const child = spawn(
      process.execPath,
      ['--test', '--test-concurrency=2', '--test-timeout=120000', ...(targets.length > 0 ? targets : DEFAULT_DIRS)],
      { stdio: 'inherit', env: { ...process.env, TRIBUNE_TEST_ETCD: etcd.endpoints.join(',') } },
    );
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await etcd.stop();
  }
}

process.exitCode = await main();
