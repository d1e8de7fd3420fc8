import { handle } from "hono/aws-lambda";
import { createLogger } from "@cargohold/logging";
import { controlPlaneConfigFromEnv } from "./config.js";
import { type ControlPlane, createControlPlane } from "./runtime.js";

/**
 * The AWS Lambda entry point, behind API Gateway or a function URL. The
 * connections are made on the first request and kept while the runtime is
 * warm, so a bad setting fails that request with the variable's name.
 */
let controlPlane: ControlPlane | undefined;

export const handler: ReturnType<typeof handle> = (event, context) => {
  controlPlane ??= createControlPlane(controlPlaneConfigFromEnv(process.env), createLogger("cargohold-control-plane"));
  return handle(controlPlane.app)(event, context);
};

/** Closes the connections, for tests that call the handler in-process. */
export async function closeHandler(): Promise<void> {
  await controlPlane?.close();
  controlPlane = undefined;
}
