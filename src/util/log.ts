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

export interface Logger {
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

class LineLogger implements Logger {
  constructor(
    private readonly name: string,
    private readonly min: number,
    private readonly sink: LogSink,
  ) {}

  private emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.min) return;
    let line = `${new Date().toISOString()} ${LABEL[level]} ${this.name}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    }
    this.sink.write(line + '\n');
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
    return new LineLogger(`${this.name}.${name}`, this.min, this.sink);
  }
}

export function createLogger(name: string, level: LogLevel, sink: LogSink = process.stdout): Logger {
  return new LineLogger(name, ORDER[level], sink);
}

/** A logger that drops everything (in-process tests that do not want noise). */
export const silentLogger: Logger = createLogger('silent', 'ERR', { write: () => undefined });
