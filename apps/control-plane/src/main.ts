import { serve } from "@hono/node-server";
import { createLogger } from "@cargohold/logging";
import { controlPlaneConfigFromEnv } from "./config.js";
import { createControlPlane } from "./runtime.js";

/** A second signal, or a stop that takes longer than this, ends the process at once. */
const FORCED_EXIT_MS = 30_000;

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

    let stopping = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        if (stopping) {
          process.exit(1);
        }
        stopping = true;
        log.info({ signal }, "stopping control plane");
        setTimeout(() => {
          log.error("clean stop took too long; exiting");
          process.exit(1);
        }, FORCED_EXIT_MS).unref();
        server.close(() => {
          controlPlane.close().then(
            () => process.exit(0),
            (error: unknown) => {
              log.error({ err: error }, "control plane stop failed");
              process.exit(1);
            },
          );
        });
      });
    }
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
