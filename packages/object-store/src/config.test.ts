import { describe, expect, it } from "vitest";
import { storeConfigFromEnv } from "./config.js";

describe("storeConfigFromEnv", () => {
  it("defaults to the local folder without a bucket", () => {
    expect(storeConfigFromEnv({})).toEqual({ kind: "local", root: "/var/lib/cargohold/store" });
  });

  it("picks S3 when a bucket is set", () => {
    const config = storeConfigFromEnv({ S3_BUCKET: "backups", S3_ENDPOINT: "http://127.0.0.1:7480", S3_ACCESS_KEY_ID: "a", S3_SECRET_ACCESS_KEY: "b" });

    expect(config).toMatchObject({ kind: "s3", bucket: "backups", forcePathStyle: true, checksumMode: "when_required", region: "us-east-1" });
  });

  it("keeps SDK checksums for AWS itself", () => {
    expect(storeConfigFromEnv({ S3_BUCKET: "backups" })).toMatchObject({ kind: "s3", forcePathStyle: false, checksumMode: "when_supported" });
  });

  it("treats empty variables as unset", () => {
    expect(storeConfigFromEnv({ S3_BUCKET: "", CARGOHOLD_LOCAL_STORE_DIR: "/srv/b" })).toEqual({ kind: "local", root: "/srv/b" });
  });

  it.each([
    [{ CARGOHOLD_STORE: "s3" }, /S3_BUCKET is missing/],
    [{ S3_BUCKET: "backups", S3_ACCESS_KEY_ID: "only-one" }, /both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/],
    [{ S3_BUCKET: "backups", S3_ENDPOINT: "not a url" }, /S3_ENDPOINT/],
    [{ CARGOHOLD_STORE: "ftp" }, /CARGOHOLD_STORE/],
    [{ CARGOHOLD_LOCAL_STORE_DIR: "relative" }, /CARGOHOLD_LOCAL_STORE_DIR \(got "relative"\): must be an absolute path/],
    [{ S3_BUCKET: "backups", S3_PART_SIZE_MIB: "1" }, /S3_PART_SIZE_MIB/],
    [{ S3_BUCKET: "backups", S3_CHECKSUM_MODE: "always" }, /S3_CHECKSUM_MODE/],
  ])("rejects %j", (env, message) => {
    expect(() => storeConfigFromEnv(env)).toThrow(message);
  });
});
