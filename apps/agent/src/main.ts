import { createLogger } from "@cargohold/logging";
import { startAgent } from "./agent.js";
import { agentConfigFromEnv } from "./config.js";

/** A second signal, or a stop that takes longer than this, ends the process at once. */
const FORCED_EXIT_MS = 30_000;

async function main(): Promise<void> {
  const log = createLogger("cargohold-agent");
  try {
    const config = agentConfigFromEnv(process.env);
    const agent = await startAgent(config, log);
    let stopping = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        if (stopping) {
          log.warn({ signal }, "second signal: exiting without a clean stop");
          process.exit(1);
        }
        stopping = true;
        log.info({ signal }, "stopping agent");
        setTimeout(() => {
          log.error("clean stop took too long; exiting");
          process.exit(1);
        }, FORCED_EXIT_MS).unref();
        agent.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, "agent stop failed");
            process.exit(1);
          },
        );
      });
    }
  } catch (error) {
    log.fatal({ err: error }, "agent failed to start");
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  // Only a bad LOG_LEVEL gets here, before there is a logger.
  process.stderr.write(`cargohold-agent failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
