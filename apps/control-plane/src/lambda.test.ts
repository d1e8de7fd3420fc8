import { afterAll, describe, expect, it } from "vitest";

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("serverless handler", () => {
  afterAll(async () => {
    const { closeHandler } = await import("./lambda.js");
    await closeHandler();
  });

  it("answers an API Gateway request", async () => {
    process.env.CARGOHOLD_STORE = "local";
    process.env.CARGOHOLD_LOCAL_STORE_DIR = "/tmp/cargohold-lambda-test";
    process.env.LOG_LEVEL = "silent";
    const { handler } = await import("./lambda.js");
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/healthz",
      rawQueryString: "",
      headers: { host: "example.invalid" },
      requestContext: {
        accountId: "000000000000",
        apiId: "test",
        domainName: "example.invalid",
        domainPrefix: "test",
        http: { method: "GET", path: "/healthz", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
        requestId: "request-1",
        routeKey: "$default",
        stage: "$default",
        time: "04/Dec/2026:20:00:00 +0000",
        timeEpoch: 1796414400000,
      },
      isBase64Encoded: false,
    };

    const response = (await handler(event as never, {} as never)) as { statusCode: number; body: string };

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: "ok", redis: "ok" });
  });
});
