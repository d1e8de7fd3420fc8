export * from "./object-store.js";
export * from "./errors.js";
export * from "./config.js";
export { LocalDirectoryStore } from "./local/local-store.js";
export { S3ObjectStore, type S3StoreConfig, type ChecksumMode, DEFAULT_PART_SIZE_BYTES, DEFAULT_QUEUE_SIZE } from "./s3/s3-store.js";
export { readAll } from "./read-all.js";
