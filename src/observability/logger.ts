import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout. Reconciles log through a child logger bound
 * to the instance name and a reconcile id, so every line can be traced.
 * Secrets never reach a logger: the redact paths are a second line of defence.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const options = {
    name: opts.name ?? 'caelus',
    level: opts.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['*.data', '*.stringData', '*.secrets', '*.token', 'token', 'password'], censor: '[redacted]' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that discards everything (for CLI paths and tests that assert on other output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
