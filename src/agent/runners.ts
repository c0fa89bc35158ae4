// Adapts the check runners (src/agent/checks/) to the agent's RunnerFactory.

import type { Logger } from '../util/log.js';
import { type AliasSource, startRunner } from './checks/index.js';
import type { RunnerFactory } from './local-agent.js';

export function checkRunners(logger: Logger, alias?: () => AliasSource): RunnerFactory {
  return (checkID, chkType, report) => {
    const runner = startRunner(
      chkType,
      (status, output) => {
        logger.debug('check status', { check: checkID, status });
        report(status, output);
      },
      alias?.(),
    );
    return runner ?? { stop: () => undefined };
  };
}
