// Adapts the check runners (src/agent/checks/) to the agent. PLACEHOLDER until they land.

import type { Logger } from '../util/log.js';
import type { RunnerFactory } from './local-agent.js';

export function checkRunners(_logger: Logger): RunnerFactory {
  return () => {
    throw new Error('check runners are not available');
  };
}
