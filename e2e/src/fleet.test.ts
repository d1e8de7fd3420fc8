import type { Agent } from "@cargohold/agent";
import type { ControlPlane } from "@cargohold/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, TestEngine, buildFixtureImages } from "./engine.js";
import { testEnvironment, waitFor } from "./environment.js";
import { Deployment, api } from "./harness.js";

const env = testEnvironment();

interface RunBody {
  id: string;
  state: string;
  scheduleId?: string;
  result?: { status: string; reason?: string; hosts: { hostId: string; state: string; error?: string; backupId?: string }[] };
}

describe.skipIf(env === undefined)("fleet: hosts, runs, schedules and retention", () => {
  const deployment = new Deployment(env!);
  const run = deployment.runId;
  const hosts = { one: `fleet-1-${run}`, two: `fleet-2-${run}`, three: `fleet-3-${run}` };
  const label = `org.cargohold.e2e-fleet`;
  const containerName = `fleet-app-${run}`;
  const engineA = new TestEngine(env!.engineASocket);
  const engineB = new TestEngine(env!.engineBSocket);
  let controlPlane: ControlPlane;
  const agents: Record<string, Agent> = {};

  async function waitForRun(runId: string, timeoutMs = 120_000): Promise<RunBody> {
    return waitFor(`fleet run ${runId}`, async () => {
      const { status, body } = await api<RunBody>(controlPlane, "GET", `/v1/runs/${runId}`);
      if (status !== 200) {
        throw new Error(`GET /v1/runs/${runId} returned ${status}: ${JSON.stringify(body)}`);
      }
      return body.state === "completed" || body.state === "failed" ? body : undefined;
    }, timeoutMs);
  }

  beforeAll(async () => {
    await buildFixtureImages(env!.engineASocket, "busybox");
    await buildFixtureImages(env!.engineBSocket, "busybox");
    await deployment.createBucket();
    controlPlane = deployment.controlPlane();
    controlPlane.startFleetWorker({ sweepMs: 300 });
    agents.one = await deployment.startAgent(hosts.one, env!.engineASocket, { labels: { env: `test-${run}`, role: "app" } });
    agents.two = await deployment.startAgent(hosts.two, env!.engineASocket, { labels: { env: `test-${run}`, role: "spare" } });
    agents.three = await deployment.startAgent(hosts.three, env!.engineBSocket, { labels: { env: `other-${run}` } });
    // The same container name exists on engine A only, so a run over A and B half fails.
    const container = await engineA.docker.createContainer({
      name: containerName,
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: { [label]: run },
      HostConfig: { NetworkMode: "none", Binds: [`fleet-data-${run}:/data`] },
    });
    await container.start();
    await engineA.exec(containerName, ["sh", "-c", "echo fleet > /data/file"]);
  });

  afterAll(async () => {
    await engineA.removeContainers([containerName]);
    await engineA.removeVolumes([`fleet-data-${run}`]);
    // Images built on B would collide with the ones other suites restore there from A.
    await engineB.removeImages([BUSYBOX_IMAGE]);
    await deployment.tearDown();
  });

  it("lists registered hosts with versions and counts", async () => {
    // The first heartbeat ran before the test container existed; the next one counts it.
    await waitFor("a heartbeat that counts the container", async () => {
      const { body } = await api<{ hosts: { hostId: string; containers: number }[] }>(controlPlane, "GET", "/v1/hosts");
      return (body.hosts.find((host) => host.hostId === hosts.one)?.containers ?? 0) >= 1 ? true : undefined;
    }, 10_000);

    const { status, body } = await api<{ hosts: { hostId: string; status: string; engineVersion: string; agentVersion: string; containers: number; labels: Record<string, string> }[] }>(
      controlPlane,
      "GET",
      "/v1/hosts",
    );

    expect(status).toBe(200);
    const mine = body.hosts.filter((host) => Object.values(hosts).includes(host.hostId));
    expect(mine.map((host) => host.hostId).sort()).toEqual(Object.values(hosts).sort());
    expect(mine.every((host) => host.status === "online")).toBe(true);
    expect(mine.every((host) => /^\d+\.\d+/.test(host.engineVersion) && host.agentVersion === "0.1.0")).toBe(true);
    expect(mine.find((host) => host.hostId === hosts.one)?.containers).toBeGreaterThanOrEqual(1);
    expect(mine.find((host) => host.hostId === hosts.one)?.labels).toEqual({ env: `test-${run}`, role: "app" });
  });

  it("runs a backup on hosts selected by label", async () => {
    const { status, body } = await api(controlPlane, "POST", "/v1/runs", {
      target: { labels: { env: `test-${run}`, role: "app" } },
      backup: { containerLabels: { [label]: run } },
    });
    expect(status).toBe(202);
    expect(body.hosts).toEqual([hosts.one]);

    const finished = await waitForRun(body.runId as string);

    expect(finished.state).toBe("completed");
    expect(finished.result?.status).toBe("completed");
    expect(finished.result?.hosts).toEqual([expect.objectContaining({ hostId: hosts.one, state: "completed" })]);
    const backupId = finished.result?.hosts[0]?.backupId;
    const { body: manifest } = await api<Record<string, any>>(controlPlane, "GET", `/v1/backups/${backupId}`);
    expect(manifest.containers.map((container: { name: string }) => container.name)).toEqual([containerName]);
  });

  it("reports failed and unknown hosts as a partial failure", async () => {
    const ghost = `fleet-ghost-${run}`;
    const { body } = await api(controlPlane, "POST", "/v1/runs", {
      target: { hostIds: [hosts.one, hosts.three, ghost] },
      backup: { containers: [containerName] },
    });

    const finished = await waitForRun(body.runId as string);

    expect(finished.result?.status).toBe("partially_failed");
    const outcomes = Object.fromEntries((finished.result?.hosts ?? []).map((host) => [host.hostId, host]));
    expect(outcomes[hosts.one]?.state).toBe("completed");
    expect(outcomes[hosts.three]?.state).toBe("failed");
    expect(outcomes[hosts.three]?.error).toContain(`"${containerName}" not found`);
    expect(outcomes[ghost]).toMatchObject({ state: "skipped", error: "no agent has registered this host" });
  });

  it("fails a host whose selection matches nothing", async () => {
    const { body } = await api(controlPlane, "POST", "/v1/runs", { target: { hostIds: [hosts.one] }, backup: { containerLabels: { "org.cargohold.nothing": run } } });

    const finished = await waitForRun(body.runId as string);

    expect(finished.result?.status).toBe("failed");
    expect(finished.result?.hosts[0]?.error).toContain("matched no container or volume");
  });

  it("explains a run whose target matched no host", async () => {
    const { body } = await api(controlPlane, "POST", "/v1/runs", { target: { labels: { env: `nowhere-${run}` } } });

    const finished = await waitForRun(body.runId as string);

    expect(finished.result?.status).toBe("failed");
    expect(finished.result?.reason).toContain("no registered host matched the target");
  });

  it("skips an offline host without hanging", async () => {
    await agents.two!.stop();
    await waitFor(`host ${hosts.two} to show offline`, async () => {
      const { body } = await api<{ hosts: { hostId: string; status: string }[] }>(controlPlane, "GET", "/v1/hosts");
      return body.hosts.find((host) => host.hostId === hosts.two)?.status === "offline" ? true : undefined;
    }, 30_000);

    const { body } = await api(controlPlane, "POST", "/v1/runs", { target: { labels: { env: `test-${run}` } }, backup: { containerLabels: { [label]: run } } });
    const finished = await waitForRun(body.runId as string);

    expect(finished.result?.status).toBe("partially_failed");
    const skipped = finished.result?.hosts.find((host) => host.hostId === hosts.two);
    expect(skipped?.state).toBe("skipped");
    expect(skipped?.error).toMatch(/^offline since /);
  });

  it("runs a schedule and applies its retention", async () => {
    const { status, body: schedule } = await api(controlPlane, "POST", "/v1/schedules", {
      cron: "*/2 * * * * *",
      timezone: "Europe/Berlin",
      target: { hostIds: [hosts.one] },
      backup: { containerLabels: { [label]: run } },
      retention: { keepLast: 2 },
    });
    expect(status).toBe(201);

    // Three runs that completed prove the cadence; the prune after each keeps the last two backups.
    const completedRuns = await waitFor("three scheduled runs", async () => {
      const runs = await deployment.runsOfSchedule(schedule.id as string);
      const done = runs.filter((entry) => entry.state === "completed");
      return done.length >= 3 ? done : undefined;
    }, 90_000);
    const deleted = await api(controlPlane, "DELETE", `/v1/schedules/${schedule.id}`);
    await deployment.waitForIdleHost(hosts.one);

    expect(completedRuns.length).toBeGreaterThanOrEqual(3);
    expect(deleted.status).toBe(200);
    const { body } = await api<{ backups: { backupId: string; series?: string }[] }>(controlPlane, "GET", `/v1/backups?hostId=${hosts.one}`);
    expect(body.backups.filter((backup) => backup.series === `schedule-${schedule.id}`)).toHaveLength(2);
    // The backups of the earlier unscheduled runs are another series, so the policy left them alone.
    expect(body.backups.filter((backup) => backup.series !== `schedule-${schedule.id}`).length).toBeGreaterThanOrEqual(2);
    expect((await api(controlPlane, "GET", `/v1/schedules/${schedule.id}`)).status).toBe(404);
  });

  it("rejects a schedule with a bad cron", async () => {
    const { status, body } = await api<{ error: { message: string } }>(controlPlane, "POST", "/v1/schedules", { cron: "every day", target: { all: true } });

    expect(status).toBe(400);
    expect(body.error.message).toContain('invalid cron "every day"');
    expect((await api<{ schedules: unknown[] }>(controlPlane, "GET", "/v1/schedules")).body.schedules).toEqual([]);
  });

  it("never doubles a tick across three control planes", async () => {
    const planes = [deployment.controlPlane(), deployment.controlPlane(), deployment.controlPlane()];
    for (const plane of planes) {
      plane.startFleetWorker({ sweepMs: 300 });
    }
    // Targeting a host without an agent keeps each run instant, so only the tick count matters.
    const { body: schedule } = await api(planes[0]!, "POST", "/v1/schedules", { cron: "* * * * * *", target: { hostIds: [`fleet-none-${run}`] } });
    const started = Date.now();
    await waitFor("six seconds of ticks", async () => ((await deployment.runsOfSchedule(schedule.id as string)).length >= 6 ? true : undefined), 30_000);
    await api(planes[1]!, "DELETE", `/v1/schedules/${schedule.id}`);
    const elapsedSeconds = (Date.now() - started) / 1000;

    const runs = await deployment.runsOfSchedule(schedule.id as string);
    const ticks = new Set(runs.map((entry) => entry.id));

    expect(ticks.size).toBe(runs.length);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1);
  });

  it("keeps a schedule across a restart of every control plane", async () => {
    const { body: schedule } = await api(controlPlane, "POST", "/v1/schedules", { cron: "* * * * * *", target: { hostIds: [`fleet-none-${run}`] } });
    await waitFor("a first tick", async () => ((await deployment.runsOfSchedule(schedule.id as string)).length >= 1 ? true : undefined), 30_000);

    await deployment.closeControlPlanes();
    const before = (await deployment.runsOfSchedule(schedule.id as string)).length;
    const restarted = deployment.controlPlane();
    restarted.startFleetWorker({ sweepMs: 300 });
    await waitFor("ticks after the restart", async () => ((await deployment.runsOfSchedule(schedule.id as string)).length >= before + 2 ? true : undefined), 30_000);
    const listed = await api<{ schedules: { id: string }[] }>(restarted, "GET", "/v1/schedules");
    await api(restarted, "DELETE", `/v1/schedules/${schedule.id}`);

    expect(listed.body.schedules.map((entry) => entry.id)).toContain(schedule.id);
  });
});
