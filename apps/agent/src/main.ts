import { createLogger, stopOnSignals } from "@cargohold/logging";
import { startAgent } from "./agent.js";
import { agentConfigFromEnv } from "./config.js";

async function main(): Promise<void> {
  const log = createLogger("cargohold-agent");
  try {
    const config = agentConfigFromEnv(process.env);
    const agent = await startAgent(config, log);
    stopOnSignals(log, () => agent.stop());
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
