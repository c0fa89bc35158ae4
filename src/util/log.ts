// A leveled logger in Consul's line format: `2026-01-02T03:04:05.678Z [INFO]  agent: message: k=v`.

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR';

const ORDER: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERR: 4 };
const LABEL: Record<LogLevel, string> = {
  TRACE: '[TRACE]',
  DEBUG: '[DEBUG]',
  INFO: '[INFO] ',
  WARN: '[WARN] ',
  ERR: '[ERROR]',
};

/** One log line's parts, for a monitor that wants another format (hclog's JSON). */
export interface LogEntry {
  time: Date;
  level: LogLevel;
  name: string;
  msg: string;
  fields?: Record<string, unknown>;
}

type TapFn = (line: string, entry: LogEntry) => void;

export interface Logger {
  /** Also sends every line at `level` or above to `fn` (GET /v1/agent/monitor); returns the unsubscribe. */
  tap(level: LogLevel, fn: TapFn): () => void;
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  named(name: string): Logger;
}

export interface LogSink {
  write(line: string): void;
}

/** Listeners shared by a logger and every logger named from it. */
class Taps {
  readonly set = new Set<{ min: number; fn: TapFn }>();
  lowest = Infinity;

  recompute(): void {
    this.lowest = Infinity;
    for (const t of this.set) this.lowest = Math.min(this.lowest, t.min);
  }
}

export function parseLogLevel(s: string): LogLevel | null {
  const u = s.toUpperCase();
  if (u === 'TRACE' || u === 'DEBUG' || u === 'INFO' || u === 'WARN') return u;
  if (u === 'ERR' || u === 'ERROR') return 'ERR';
  return null;
}

class LineLogger implements Logger {
  constructor(
    private readonly name: string,
    private readonly min: number,
    private readonly sink: LogSink,
    private readonly taps: Taps = new Taps(),
  ) {}

  tap(level: LogLevel, fn: TapFn): () => void {
    const t = { min: ORDER[level], fn };
    this.taps.set.add(t);
    this.taps.recompute();
    return () => {
      this.taps.set.delete(t);
      this.taps.recompute();
    };
  }

  private emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    const o = ORDER[level];
    // Below the configured level, a line is only made when a monitor wants it.
    if (o < this.min && o < this.taps.lowest) return;
    const time = new Date();
    let line = `${time.toISOString()} ${LABEL[level]} ${this.name}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    }
    line += '\n';
    if (o >= this.min) this.sink.write(line);
    if (this.taps.set.size === 0) return;
    const entry: LogEntry = { time, level, name: this.name, msg, ...(fields ? { fields } : {}) };
    for (const t of this.taps.set) if (o >= t.min) t.fn(line, entry);
  }

  trace(msg: string, fields?: Record<string, unknown>): void {
    this.emit('TRACE', msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit('DEBUG', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit('INFO', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit('WARN', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit('ERR', msg, fields);
  }
  named(name: string): Logger {
    return new LineLogger(`${this.name}.${name}`, this.min, this.sink, this.taps);
  }
}

const HCLOG_LEVEL: Record<LogLevel, string> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERR: 'error' };

/**
 * An entry as hclog's JSON format writes it (`consul monitor -log-json`): `@level`, `@message`,
 * `@module`, `@timestamp` (microseconds) and the fields, keys sorted as Go's encoder sorts a map.
 */
export function hclogJSON(e: LogEntry): string {
  const vals: Record<string, unknown> = { ...e.fields, '@level': HCLOG_LEVEL[e.level], '@message': e.msg, '@module': e.name, '@timestamp': e.time.toISOString().replace('Z', '000Z') };
  const sorted = Object.fromEntries(Object.keys(vals).sort().map((k) => [k, vals[k]]));
  return JSON.stringify(sorted) + '\n';
}

export function createLogger(name: string, level: LogLevel, sink: LogSink = process.stdout): Logger {
  return new LineLogger(name, ORDER[level], sink);
}

/** A logger that drops everything (in-process tests that do not want noise). */
export const silentLogger: Logger = createLogger('silent', 'ERR', { write: () => undefined });
