// Event-loop stalls of this process, told apart from the machine being busy elsewhere: a 10 ms
// timer that fires late measured both the wall time and the CPU time the process used in between.
// The loop was blocked by our own work only as long as we used the CPU (a process descheduled by
// the OS is late without having run), so the figure asserted is the smaller of the two.

export interface StallReport {
  /** Largest lateness of the timer, in wall-clock ms (what monitorEventLoopDelay would show). */
  maxWallMs: number;
  /** Largest lateness this process spent running (min of wall and CPU time), in ms. */
  maxBusyMs: number;
  /** Lateness over 50 ms, with what was going on then. */
  late: string[];
}

export function watchStalls(what: () => string): { stop(): StallReport } {
  const report: StallReport = { maxWallMs: 0, maxBusyMs: 0, late: [] };
  let expected = performance.now() + 10;
  let cpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const wall = now - expected;
    const used = process.cpuUsage(cpu);
    const busy = Math.min(wall, (used.user + used.system) / 1000);
    if (wall > report.maxWallMs) report.maxWallMs = wall;
    if (busy > report.maxBusyMs) report.maxBusyMs = busy;
    if (wall > 50) report.late.push(`${wall.toFixed(0)} ms late (${busy.toFixed(0)} ms of it running) around ${what()}`);
    expected = now + 10;
    cpu = process.cpuUsage();
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return report;
    },
  };
}
