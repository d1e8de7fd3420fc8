export { createControlPlane, type ControlPlane } from "./runtime.js";
export { controlPlaneConfigFromEnv, type ControlPlaneConfig } from "./config.js";
