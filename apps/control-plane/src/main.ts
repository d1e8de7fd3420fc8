import { serve } from "@hono/node-server";
import { createLogger, stopOnSignals } from "@cargohold/logging";
import { controlPlaneConfigFromEnv } from "./config.js";
import { createControlPlane } from "./runtime.js";

async function main(): Promise<void> {
  const log = createLogger("cargohold-control-plane");
  try {
    const config = controlPlaneConfigFromEnv(process.env);
    const controlPlane = createControlPlane(config, log);
    const server = serve({ fetch: controlPlane.app.fetch, hostname: config.listen.host, port: config.listen.port }, (info) => {
      log.info({ address: info.address, port: info.port, store: config.store.kind }, "control plane listening");
    });
    server.once("error", (error) => {
      log.fatal({ err: error }, `cannot listen on ${config.listen.host}:${config.listen.port}; set CARGOHOLD_LISTEN to a free address`);
      process.exit(1);
    });
    controlPlane.startFleetWorker();

    stopOnSignals(log, async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await controlPlane.close();
    });
  } catch (error) {
    log.fatal({ err: error }, "control plane failed to start");
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  // Only a bad LOG_LEVEL gets here, before there is a logger.
  process.stderr.write(`cargohold-control-plane failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
