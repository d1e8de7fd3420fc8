import type { ContainerRecord } from "@cargohold/storage-layout";
import { describe, expect, it } from "vitest";
import { buildContainerSpec, type SpecMappings } from "./container-spec.js";
import { importChanges } from "./run-restore.js";

const anonymous = "a".repeat(64);

function record(hostConfig: Record<string, unknown>, extra: Partial<ContainerRecord> = {}, networks: Record<string, unknown> = { none: {} }): ContainerRecord {
  return {
    id: "f".repeat(64),
    name: "app",
    running: true,
    image: "shop/app:1",
    imageId: `sha256:${"b".repeat(64)}`,
    restoreImage: "shop/app:1",
    mounts: [],
    dependsOn: [],
    inspect: { Config: { Image: "shop/app:1", Cmd: ["run"] }, HostConfig: hostConfig, NetworkSettings: { Networks: networks } },
    ...extra,
  };
}

const mappings: SpecMappings = {
  volumes: new Map([
    ["data", "data"],
    [anonymous, "c".repeat(64)],
  ]),
  binds: new Map([["/srv/app", "/restore/srv/app"]]),
  containerNames: new Map([["d".repeat(64), "db"]]),
};

describe("buildContainerSpec", () => {
  it("maps bind sources and keeps named volumes", () => {
    const { spec } = buildContainerSpec(record({ Binds: ["/srv/app:/config:ro", "data:/data"] }), mappings);

    expect(spec.hostConfig.Binds).toEqual(["/restore/srv/app:/config:ro", "data:/data"]);
    expect(spec.name).toBe("app");
    expect(spec.config).toMatchObject({ Image: "shop/app:1", Cmd: ["run"] });
  });

  it("mounts the new volume for an anonymous one", () => {
    const mounts = [{ type: "volume" as const, source: anonymous, destination: "/var/lib/mysql", readOnly: false, anonymous: true }];

    const { spec } = buildContainerSpec(record({ Binds: null }, { mounts }), mappings);

    expect(spec.hostConfig.Mounts).toEqual([{ Type: "volume", Source: "c".repeat(64), Target: "/var/lib/mysql", ReadOnly: false }]);
  });

  it("maps --mount entries", () => {
    const mounts = [{ type: "volume" as const, source: anonymous, destination: "/cache", readOnly: false, anonymous: true }];

    const { spec } = buildContainerSpec(
      record({ Mounts: [{ Type: "volume", Target: "/cache" }, { Type: "bind", Source: "/srv/app", Target: "/app" }] }, { mounts }),
      mappings,
    );

    expect(spec.hostConfig.Mounts).toEqual([
      { Type: "volume", Source: "c".repeat(64), Target: "/cache" },
      { Type: "bind", Source: "/restore/srv/app", Target: "/app" },
    ]);
  });

  it("rewrites container references by id to names", () => {
    const { spec } = buildContainerSpec(record({ NetworkMode: `container:${"d".repeat(64)}`, VolumesFrom: [`${"d".repeat(64)}:ro`], Links: ["/db:/app/database"] }), mappings);

    expect(spec.hostConfig.NetworkMode).toBe("container:db");
    expect(spec.hostConfig.VolumesFrom).toEqual(["db:ro"]);
    expect(spec.hostConfig.Links).toEqual(["db:database"]);
  });

  it("sends one network at create and connects the rest", () => {
    const networks = {
      front: { Aliases: ["web", "ffffffffffff"], IPAddress: "10.1.0.5", NetworkID: "n1" },
      back: { Aliases: ["web-back"] },
    };

    const { spec, extraNetworks } = buildContainerSpec(record({ NetworkMode: "front" }, {}, networks), mappings);

    expect(spec.networkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ["web"] } } });
    expect(extraNetworks).toEqual([["back", { Aliases: ["web-back"] }]]);
  });

  it("leaves built-in networks to NetworkMode", () => {
    expect(buildContainerSpec(record({ NetworkMode: "none" }), mappings).spec.networkingConfig).toBeUndefined();
  });
});

describe("importChanges", () => {
  it("turns an image config into Dockerfile lines", () => {
    const changes = importChanges({
      Entrypoint: ["/entry"],
      Cmd: ["serve", "--port", "80"],
      Env: ["PATH=/usr/bin:/bin", "GREETING=hello world"],
      WorkingDir: "/srv",
      User: "app",
      ExposedPorts: { "80/tcp": {} },
      Volumes: { "/data": {} },
      StopSignal: "SIGQUIT",
      Labels: { "org.example.team": "shop" },
      Healthcheck: { Test: ["CMD-SHELL", "wget -q localhost"], Interval: 30e9, Retries: 3 },
    });

    expect(changes).toEqual([
      'ENTRYPOINT ["/entry"]',
      'CMD ["serve","--port","80"]',
      'ENV PATH="/usr/bin:/bin"',
      'ENV GREETING="hello world"',
      "WORKDIR /srv",
      "USER app",
      "EXPOSE 80/tcp",
      'VOLUME ["/data"]',
      "STOPSIGNAL SIGQUIT",
      'LABEL "org.example.team"="shop"',
      "HEALTHCHECK --interval=30000ms --retries=3 CMD wget -q localhost",
    ]);
  });
});
