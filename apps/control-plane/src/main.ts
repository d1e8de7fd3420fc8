import { serve } from "@hono/node-server";
import { createLogger } from "@cargohold/logging";
import { controlPlaneConfigFromEnv } from "./config.js";
import { createControlPlane } from "./runtime.js";

const log = createLogger("cargohold-control-plane");

try {
  const config = controlPlaneConfigFromEnv(process.env);
  const controlPlane = createControlPlane(config, log);
  controlPlane.startFleetWorker();
  const server = serve({ fetch: controlPlane.app.fetch, hostname: config.listen.host, port: config.listen.port }, (info) => {
    log.info({ address: info.address, port: info.port, store: config.store.kind }, "control plane listening");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log.info({ signal }, "stopping control plane");
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
