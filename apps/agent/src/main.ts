import { createLogger } from "@cargohold/logging";
import { startAgent } from "./agent.js";
import { agentConfigFromEnv } from "./config.js";

const log = createLogger("cargohold-agent");

try {
  const config = agentConfigFromEnv(process.env);
  const agent = await startAgent(config, log);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log.info({ signal }, "stopping agent");
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
