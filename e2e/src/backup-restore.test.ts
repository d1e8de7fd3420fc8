import { chmod, chown, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Agent } from "@cargohold/agent";
import type { ControlPlane } from "@cargohold/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, MARIADB_IMAGE, TestEngine, buildFixtureImages } from "./engine.js";
import { testEnvironment } from "./environment.js";
import { Deployment, api, type JobBody, waitForJobEnd } from "./harness.js";

const env = testEnvironment();
const TEST_ROOT = process.env.CARGOHOLD_TEST_ROOT ?? "/var/lib/cargohold-test";

describe.skipIf(env === undefined)("backup on engine A, restore on engine B", () => {
  const deployment = new Deployment(env!);
  const run = deployment.runId;
  const hostA = `e2e-a-${run}`;
  const hostB = `e2e-b-${run}`;
  const names = { db: `db-${run}`, app: `app-${run}`, volume: `appdata-${run}` };
  const workDir = path.join(TEST_ROOT, "e2e", run);
  const bindSource = path.join(workDir, "app-config");
  const restoredBinds = path.join(workDir, "restored");
  const engineA = new TestEngine(env!.engineASocket);
  const engineB = new TestEngine(env!.engineBSocket);
  let controlPlane: ControlPlane;
  let backupId: string;
  let restoredVolumes: string[] = [];
  let queuedJobId: string;
  let agentA: Agent;

  beforeAll(async () => {
    // Engine B plays a fresh machine: images that an earlier run restored there go first.
    await engineB.removeImages([MARIADB_IMAGE, BUSYBOX_IMAGE]);
    await buildFixtureImages(env!.engineASocket);
    await deployment.createBucket();
    controlPlane = deployment.controlPlane();
    agentA = await deployment.startAgent(hostA, env!.engineASocket);
    await deployment.startAgent(hostB, env!.engineBSocket);

    // The database keeps its data in the anonymous volume from the image's VOLUME line.
    const db = await engineA.docker.createContainer({ name: names.db, Image: MARIADB_IMAGE, HostConfig: { NetworkMode: "none" } });
    await db.start();
    await engineA.waitForMariaDb(names.db);
    await engineA.exec(names.db, [
      "mariadb",
      "-uroot",
      "-e",
      "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(64)); INSERT INTO shop.orders VALUES (1, 'anvil'), (2, 'rope'), (3, 'lantern');",
    ]);

    await mkdir(path.join(bindSource, "nested"), { recursive: true });
    await writeFile(path.join(bindSource, "app.conf"), "listen = 8080\n");
    await writeFile(path.join(bindSource, "nested", "name with spaces and ü.txt"), "odd name\n");
    await chown(path.join(bindSource, "app.conf"), 1000, 1000);
    await chmod(path.join(bindSource, "app.conf"), 0o640);
    await symlink("app.conf", path.join(bindSource, "current.conf"));

    const app = await engineA.docker.createContainer({
      name: names.app,
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "3600"],
      HostConfig: { NetworkMode: "none", Binds: [`${bindSource}:/srv/config:ro`, `${names.volume}:/data`] },
    });
    await app.start();
    await engineA.exec(names.app, [
      "sh",
      "-c",
      "mkdir -p /data/uploads && head -c 3000000 /dev/urandom > /data/uploads/blob.bin && echo hello > /data/uploads/greeting && chown -R 1000:1000 /data/uploads && chmod 600 /data/uploads/greeting && ln -s uploads/greeting /data/latest",
    ]);
  });

  afterAll(async () => {
    await engineA.removeContainers([names.db, names.app]);
    await engineB.removeContainers([names.db, names.app]);
    const anonymousOnA = (await engineA.volumeNames()).filter((name) => /^[0-9a-f]{64}$/.test(name));
    await engineA.removeVolumes([names.volume, ...anonymousOnA]);
    await engineB.removeVolumes([names.volume, ...restoredVolumes]);
    await engineB.removeImages([MARIADB_IMAGE, BUSYBOX_IMAGE]);
    await deployment.tearDown();
    await rm(workDir, { recursive: true, force: true });
  });

  it("serves health on the API and the agent", async () => {
    const apiHealth = await api(controlPlane, "GET", "/healthz");
    const agentHealth = await fetch(`http://127.0.0.1:${agentA.address?.port}/healthz`);

    expect(apiHealth).toEqual({ status: 200, body: { status: "ok", redis: "ok" } });
    expect(agentHealth.status).toBe(200);
    expect(await agentHealth.json()).toEqual({ status: "ok", hostId: hostA, docker: "ok", redis: "ok" });
  });

  it("keeps a job queued for a host without an agent", async () => {
    const { status, body } = await api(controlPlane, "POST", "/v1/backups", { hostId: `e2e-nobody-${run}` });
    expect(status).toBe(202);
    queuedJobId = body.jobId as string;

    const job = await api<JobBody>(controlPlane, "GET", `/v1/jobs/${queuedJobId}`);

    expect(job.status).toBe(200);
    expect(job.body.state).toBe("queued");
  });

  it("fails a backup of an unknown container, naming it", async () => {
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId: hostA, containers: [names.app, `ghost-${run}`] });

    const job = await waitForJobEnd(controlPlane, body.jobId as string);

    expect(job.state).toBe("failed");
    expect(job.error).toContain(`"ghost-${run}"`);
    expect(job.error).toContain("not found");
  });

  it("backs up host A through the API", async () => {
    const { status, body } = await api(controlPlane, "POST", "/v1/backups", { hostId: hostA, containers: [names.db, names.app] });
    expect(status).toBe(202);
    backupId = body.backupId as string;

    const job = await waitForJobEnd(controlPlane, body.jobId as string);

    expect(job.error).toBeUndefined();
    expect(job.state).toBe("completed");
    expect(job.result?.status).toBe("complete");
    const progress = Object.values(job.progress?.artifacts ?? {});
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress.every((artifact) => artifact.done && artifact.bytes > 0)).toBe(true);
  });

  it("records volumes, binds, images and containers", async () => {
    const { status, body: manifest } = await api<Record<string, any>>(controlPlane, "GET", `/v1/backups/${backupId}`);

    expect(status).toBe(200);
    expect(manifest.status).toBe("complete");
    const volumes = manifest.volumes as { name: string; anonymous: boolean }[];
    expect(volumes.find((volume) => volume.name === names.volume)?.anonymous).toBe(false);
    expect(volumes.filter((volume) => volume.anonymous)).toHaveLength(1);
    expect(manifest.binds).toEqual([expect.objectContaining({ source: bindSource, type: "directory" })]);
    expect((manifest.images as { tags: string[] }[]).flatMap((image) => image.tags).sort()).toEqual([BUSYBOX_IMAGE, MARIADB_IMAGE]);
    expect((manifest.containers as { name: string }[]).map((container) => container.name).sort()).toEqual([names.app, names.db].sort());
  });

  it("lists the backup from a control plane with empty Redis", async () => {
    const fresh = deployment.controlPlane(`fresh-${run}`);

    const { status, body } = await api<{ backups: { backupId: string; hostId: string }[] }>(fresh, "GET", `/v1/backups?hostId=${hostA}`);
    const all = await api<{ backups: { backupId: string }[] }>(fresh, "GET", "/v1/backups");

    expect(status).toBe(200);
    expect(body.backups.map((backup) => backup.backupId)).toEqual([backupId]);
    expect(all.body.backups.map((backup) => backup.backupId)).toContain(backupId);
  });

  it("refuses a restore over an existing volume and changes nothing", async () => {
    await engineB.docker.createVolume({ Name: names.volume });
    const volumesBefore = await engineB.volumeNames();
    const containersBefore = await engineB.containerNames();

    const { body } = await api(controlPlane, "POST", "/v1/restores", { backupId, targetHostId: hostB, bindPathPrefix: restoredBinds });
    const job = await waitForJobEnd(controlPlane, body.jobId as string);

    expect(job.state).toBe("failed");
    expect(job.error).toContain(`volume ${names.volume} already exists`);
    expect(await engineB.volumeNames()).toEqual(volumesBefore);
    expect(await engineB.containerNames()).toEqual(containersBefore);
    expect(await engineB.hasImage(MARIADB_IMAGE)).toBe(false);
    await expect(lstat(restoredBinds)).rejects.toThrow(/ENOENT/);
    await engineB.removeVolumes([names.volume]);
  });

  it("restores onto engine B with the data intact", async () => {
    expect(await engineB.hasImage(MARIADB_IMAGE)).toBe(false);
    expect(await engineB.hasImage(BUSYBOX_IMAGE)).toBe(false);

    const { status, body } = await api(controlPlane, "POST", "/v1/restores", { backupId, targetHostId: hostB, bindPathPrefix: restoredBinds });
    expect(status).toBe(202);
    const job = await waitForJobEnd(controlPlane, body.jobId as string);

    expect(job.error).toBeUndefined();
    expect(job.state).toBe("completed");
    const volumeMapping = job.result?.volumeMapping as Record<string, string>;
    restoredVolumes = Object.values(volumeMapping);
    expect(volumeMapping[names.volume]).toBe(names.volume);

    // The images that existed only on A now exist on B.
    expect(await engineB.hasImage(MARIADB_IMAGE)).toBe(true);
    expect(await engineB.hasImage(BUSYBOX_IMAGE)).toBe(true);

    // The database runs on B and returns the same rows.
    await engineB.waitForMariaDb(names.db);
    const rows = await engineB.exec(names.db, ["mariadb", "-uroot", "-N", "-e", "SELECT id, item FROM shop.orders ORDER BY id"]);
    expect(rows).toBe("1\tanvil\n2\trope\n3\tlantern\n");
    const dbOnB = await engineB.docker.getContainer(names.db).inspect();
    const dataMount = dbOnB.Mounts.find((mount) => mount.Destination === "/var/lib/mysql");
    expect(dataMount?.Type).toBe("volume");
    expect(restoredVolumes).toContain(dataMount?.Name);

    // The named volume contains the same files with the same owners and modes.
    expect(await engineB.describeTree(names.app, "/data")).toEqual(await engineA.describeTree(names.app, "/data"));
    const appOnB = await engineB.docker.getContainer(names.app).inspect();
    expect(appOnB.State.Running).toBe(true);

    // The bind-mounted folder is recreated under the prefix, byte for byte.
    const restoredBind = path.join(restoredBinds, bindSource);
    expect(appOnB.HostConfig.Binds).toContain(`${restoredBind}:/srv/config:ro`);
    expect(await engineB.describeTree(names.app, "/srv/config")).toEqual(await engineA.describeTree(names.app, "/srv/config"));
    expect(await readFile(path.join(restoredBind, "nested", "name with spaces and ü.txt"), "utf8")).toBe("odd name\n");
    expect((await lstat(path.join(restoredBind, "app.conf"))).uid).toBe(1000);
    expect(await readdir(restoredBind)).toEqual(["app.conf", "current.conf", "nested"]);
  });

  it("still shows the job without an agent as queued", async () => {
    const job = await api<JobBody>(controlPlane, "GET", `/v1/jobs/${queuedJobId}`);

    expect(job.body.state).toBe("queued");
  });
});
