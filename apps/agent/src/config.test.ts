import { describe, expect, it } from "vitest";
import { agentConfigFromEnv, parseLabels } from "./config.js";

describe("agentConfigFromEnv", () => {
  it("accepts the unix:// form of the socket", () => {
    expect(agentConfigFromEnv({ CARGOHOLD_HOST_ID: "web-01", CARGOHOLD_DOCKER_SOCKET: "unix:///run/engine.sock" }).dockerSocket).toBe("/run/engine.sock");
  });

  it.each([
    [{}, /CARGOHOLD_HOST_ID: missing, so set it/],
    [{ CARGOHOLD_HOST_ID: "Web_01" }, /invalid CARGOHOLD_HOST_ID: invalid host id "Web_01"/],
    [{ CARGOHOLD_HOST_ID: "web-01", DOCKER_HOST: "tcp://10.0.0.1:2375" }, /DOCKER_HOST "tcp:\/\/10\.0\.0\.1:2375" is not a unix socket/],
    [{ CARGOHOLD_HOST_ID: "web-01", CARGOHOLD_MAX_UPLOADS: "-1" }, /CARGOHOLD_MAX_UPLOADS \(got "-1"\)/],
    [{ CARGOHOLD_HOST_ID: "web-01", CARGOHOLD_HOST_LABELS: "env" }, /invalid CARGOHOLD_HOST_LABELS entry "env"/],
  ])("rejects %j", (env, message) => {
    expect(() => agentConfigFromEnv(env)).toThrow(message);
  });
});

describe("parseLabels", () => {
  it("reads name=value pairs", () => {
    expect(parseLabels("env=prod, role=db")).toEqual({ env: "prod", role: "db" });
  });
});
