import { type Logger, pino } from "pino";

export type { Logger } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Creates the JSON-lines logger of one program; LOG_LEVEL sets the level, and a bad value fails with its name. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  if (!LEVELS.includes(level)) {
    throw new Error(`invalid LOG_LEVEL ${JSON.stringify(level)}: use one of ${LEVELS.join(", ")}`);
  }
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

/** Resolves with the promise's value, or rejects after `ms` with an error naming `what`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Describes what went wrong with environment settings, with each variable's
 * value unless the variable contains a secret.
 */
export function describeSettingsIssues(issues: { path: (string | number)[]; message: string }[], env: NodeJS.ProcessEnv): string {
  return issues
    .map((issue) => {
      const name = String(issue.path[0] ?? "");
      const value = env[name];
      const secret = /SECRET|PASSWORD|TOKEN|KEY_ID/.test(name);
      let shown = "";
      if (value !== undefined) {
        shown = secret ? " (value hidden)" : ` (got ${JSON.stringify(value)})`;
      }
      return `${issue.path.join(".")}${shown}: ${issue.message}`;
    })
    .join("; ");
}

/**
 * Stops a program cleanly on SIGINT or SIGTERM. A second signal, or a stop
 * that takes longer than `forcedExitMs`, exits at once with status 1.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>, forcedExitMs = 30_000): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, "second signal: exiting without a clean stop");
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, "stopping");
      setTimeout(() => {
        log.error({ forcedExitMs }, "clean stop took too long; exiting");
        process.exit(1);
      }, forcedExitMs).unref();
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, "stop failed");
          process.exit(1);
        },
      );
    });
  }
}
