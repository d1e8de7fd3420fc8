import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** JSON lines on stdout, one logger per program; LOG_LEVEL sets the level. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level });
}

/**
 * Logs a repeating error once, then at most once per interval with the
 * number of repeats in between, so a Redis outage does not flood the log
 * with the same line from every retry.
 */
export function repeatLimitedWarning(log: Logger, message: string, intervalMs = 30_000): (error: unknown) => void {
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error: unknown) => {
    const now = Date.now();
    if (now - lastLoggedAt < intervalMs) {
      suppressed++;
      return;
    }
    log.warn({ err: error, repeats: suppressed }, message);
    lastLoggedAt = now;
    suppressed = 0;
  };
}
