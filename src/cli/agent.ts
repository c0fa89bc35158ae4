// `tribune agent`: load configuration, start the agent, stop it gracefully on SIGINT/SIGTERM
// (a second signal forces the exit).

import { Agent } from '../agent/agent.js';
import { ConfigError, agentUsage, loadAgentConfig } from '../config/index.js';
import { createLogger } from '../util/log.js';

export async function runAgent(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('-help') || args.includes('--help')) {
    process.stdout.write(agentUsage());
    return 0;
  }
  let loaded: Awaited<ReturnType<typeof loadAgentConfig>>;
  try {
    loaded = await loadAgentConfig(args);
  } catch (e) {
    // Bad configuration is the operator's to fix: one line, no stack trace.
    process.stderr.write(`==> ${e instanceof ConfigError ? e.message : `Error loading configuration: ${oneLine(e)}`}\n`);
    return 1;
  }
  const { config, warnings } = loaded;
  const logger = createLogger('agent', config.logLevel);
  for (const w of warnings) logger.warn(w);

  process.stdout.write('==> Starting Tribune agent...\n');
  let agent: Agent | null = null;
  try {
    agent = new Agent({ config, logger, reloadConfig: async () => (await loadAgentConfig(args)).config });
    await agent.start();
  } catch (e) {
    // A damaged data dir, a data dir that cannot be created, a port in use...: one line on stderr
    // naming the cause, no stack trace.
    process.stderr.write(`==> Error starting agent: ${oneLine(e)}\n`);
    await agent?.stop().catch(() => undefined);
    return 1;
  }
  const running = agent;
  process.stdout.write(
    [
      '==> Tribune agent running!',
      `           Node name: '${config.nodeName}'`,
      `          Datacenter: '${config.datacenter}'`,
      `              Server: ${config.server} (Bootstrap: ${config.bootstrap})`,
      `         Client Addr: [${config.clientAddrs.join(' ')}] (HTTP: ${boundPort(running.httpAddrs[0], config.ports.http)}, HTTPS: -1, gRPC: -1, DNS: ${boundPort(running.dnsAddrs[0], config.ports.dns)})`,
      `           Data Dir: ${config.dataDir ?? '(in memory)'}`,
      '',
      '==> Log data will now stream in as it occurs:',
      '',
    ].join('\n'),
  );

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn('second signal received, exiting now', { signal: sig });
        process.exit(1);
      }
      signalled = true;
      // As Consul: client agents leave on SIGTERM and SIGINT, servers on neither, unless
      // leave_on_terminate / skip_leave_on_interrupt say otherwise.
      const cl = config.cluster;
      const leave = sig === 'SIGTERM' ? (cl.leaveOnTerminate ?? !config.server) : !(cl.skipLeaveOnInterrupt ?? config.server);
      logger.info(leave ? 'caught signal, leaving gracefully' : 'caught signal, stopping gracefully', { signal: sig });
      running.stop({ leave }).then(
        () => resolve(0),
        (e: Error) => {
          logger.error('shutdown failed', { error: e.message });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // SIGHUP reloads the configuration, as Consul's agent does.
    process.on('SIGHUP', () => {
      logger.info('caught signal, reloading', { signal: 'SIGHUP' });
      running.reload().catch((e: Error) => logger.error('failed to reload configuration', { error: e.message }));
    });
    running.onRetryJoinFailed = (err) => {
      process.stderr.write(`==> ${err}\n`);
      resolve(1);
    };
    void running.left.then(() => {
      process.stdout.write('Graceful leave complete\n');
      resolve(0);
    });
  });
}

/** The port actually bound (the configured one may be 0, "any free port"). */
function boundPort(addr: string | undefined, configured: number): number {
  // A unix socket has no port: show the configured one, as Consul does.
  if (addr === undefined || addr.startsWith('unix://')) return configured;
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}
