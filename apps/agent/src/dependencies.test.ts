import { describe, expect, it } from "vitest";
import { type DependencySource, findDependencies, startOrder } from "./dependencies.js";

function container(name: string, hostConfig: Record<string, unknown> = {}, labels: Record<string, string> = {}): DependencySource {
  return { id: `${name}`.padEnd(64, "0"), name, config: { Labels: labels }, hostConfig };
}

describe("findDependencies", () => {
  it.each([
    ["links", { Links: ["/db:/app/db"] }],
    ["volumes-from", { VolumesFrom: ["db:ro"] }],
    ["network namespace", { NetworkMode: "container:db" }],
  ])("follows %s", (_kind, hostConfig) => {
    const dependencies = findDependencies([container("db"), container("app", hostConfig)]);

    expect(dependencies.get("app")).toEqual(["db"]);
    expect(dependencies.get("db")).toEqual([]);
  });

  it("resolves a network namespace given by id", () => {
    const db = container("db");

    const dependencies = findDependencies([db, container("app", { NetworkMode: `container:${db.id}` })]);

    expect(dependencies.get("app")).toEqual(["db"]);
  });

  it("maps compose services to containers of the same project", () => {
    const labels = (service: string, dependsOn?: string) => ({
      "com.docker.compose.project": "shop",
      "com.docker.compose.service": service,
      ...(dependsOn ? { "com.docker.compose.depends_on": dependsOn } : {}),
    });
    const other = { "com.docker.compose.project": "other", "com.docker.compose.service": "db" };

    const dependencies = findDependencies([
      container("shop-db-1", {}, labels("db")),
      container("other-db-1", {}, other),
      container("shop-web-1", {}, labels("web", "db:service_started:false")),
    ]);

    expect(dependencies.get("shop-web-1")).toEqual(["shop-db-1"]);
  });
});

describe("startOrder", () => {
  it("places dependencies first", () => {
    const dependsOn = new Map([
      ["web", ["api"]],
      ["api", ["db"]],
      ["db", []],
    ]);

    expect(startOrder(["web", "api", "db"], dependsOn)).toEqual({ order: ["db", "api", "web"], cycle: [] });
  });

  it("ignores dependencies outside the set", () => {
    expect(startOrder(["web"], new Map([["web", ["db"]]])).order).toEqual(["web"]);
  });

  it("reports a cycle", () => {
    const dependsOn = new Map([
      ["a", ["b"]],
      ["b", ["a"]],
      ["c", []],
    ]);

    expect(startOrder(["a", "b", "c"], dependsOn)).toEqual({ order: ["c", "a", "b"], cycle: ["a", "b"] });
  });
});
