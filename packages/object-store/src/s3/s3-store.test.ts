import { CreateBucketCommand, DeleteBucketCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { storeConfigFromEnv } from "../config.js";
import { describeObjectStoreConformance } from "../conformance.js";
import { ObjectStoreError } from "../errors.js";
import { S3ObjectStore } from "./s3-store.js";

const REQUIRED = ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"];
const missing = REQUIRED.filter((name) => !process.env[name]);
if (missing.length > 0 && process.env.CI) {
  // In CI a skipped backend would hide a broken one, so a missing server is a failure.
  throw new Error(`S3 conformance needs ${missing.join(", ")}: run the tests through infra/test.sh, which starts Ceph RGW`);
}

const PART_SIZE_MIB = 5;

describe.skipIf(missing.length > 0)("S3 backend against a real server", () => {
  const bucket = `cargohold-conformance-${randomUUID().slice(0, 8)}`;

  describeObjectStoreConformance("s3", async () => {
    const config = storeConfigFromEnv({ ...process.env, CARGOHOLD_STORE: "s3", S3_BUCKET: bucket, S3_PART_SIZE_MIB: String(PART_SIZE_MIB) });
    if (config.kind !== "s3") {
      throw new Error("expected an S3 configuration");
    }
    const store = new S3ObjectStore(config);
    await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      store,
      multipartThresholdBytes: PART_SIZE_MIB * 1024 * 1024,
      pendingUploads: async (prefix) => {
        const response = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
        return response.Uploads?.length ?? 0;
      },
      cleanup: async () => {
        await store.client.send(new DeleteBucketCommand({ Bucket: bucket }));
      },
    };
  });

  it("missing bucket is a permanent error naming the bucket", async () => {
    const config = storeConfigFromEnv({ ...process.env, CARGOHOLD_STORE: "s3", S3_BUCKET: `cargohold-absent-${randomUUID().slice(0, 8)}` });
    if (config.kind !== "s3") {
      throw new Error("expected an S3 configuration");
    }
    const store = new S3ObjectStore(config);

    const error = await store.put("a/b", Buffer.from("x")).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ObjectStoreError);
    expect((error as ObjectStoreError).permanent).toBe(true);
    expect((error as Error).message).toMatch(/NoSuchBucket/);
    await store.close();
  });
});
