export * from "./ids.js";
export * from "./keys.js";
export * from "./manifest.js";
export * from "./checksum.js";
export * from "./retention.js";
