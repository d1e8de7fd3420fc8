import type { ControlPlane } from "@cargohold/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, TestEngine, buildFixtureImages } from "./engine.js";
import { testEnvironment } from "./environment.js";
import { Deployment, api, waitForJobEnd } from "./harness.js";

const env = testEnvironment();

describe.skipIf(env === undefined)("image modes: export and commit", () => {
  const deployment = new Deployment(env!);
  const run = deployment.runId;
  const hostA = `e2e-ma-${run}`;
  const hostB = `e2e-mb-${run}`;
  const names = { exported: `exported-${run}`, committed: `committed-${run}` };
  const engineA = new TestEngine(env!.engineASocket);
  const engineB = new TestEngine(env!.engineBSocket);
  const imagesOnB: string[] = [];
  let controlPlane: ControlPlane;

  async function backupAndRestore(request: Record<string, unknown>): Promise<{ manifest: Record<string, any>; restored: Record<string, any> }> {
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId: hostA, ...request });
    const backupJob = await waitForJobEnd(controlPlane, body.jobId as string);
    expect(backupJob.error).toBeUndefined();
    const { body: manifest } = await api<Record<string, any>>(controlPlane, "GET", `/v1/backups/${body.backupId}`);

    const { body: restore } = await api(controlPlane, "POST", "/v1/restores", { backupId: body.backupId, targetHostId: hostB });
    const restoreJob = await waitForJobEnd(controlPlane, restore.jobId as string);
    expect(restoreJob.error).toBeUndefined();
    return { manifest, restored: restoreJob.result ?? {} };
  }

  beforeAll(async () => {
    // A busybox built on B has another id than A's, which the restore would rightly refuse to retag.
    await engineB.removeImages([BUSYBOX_IMAGE]);
    await buildFixtureImages(env!.engineASocket, "busybox");
    await deployment.createBucket();
    controlPlane = deployment.controlPlane();
    await deployment.startAgent(hostA, env!.engineASocket);
    await deployment.startAgent(hostB, env!.engineBSocket);

    for (const name of Object.values(names)) {
      const container = await engineA.docker.createContainer({
        name,
        Image: BUSYBOX_IMAGE,
        Cmd: ["sleep", "3600"],
        WorkingDir: "/srv",
        Env: ["GREETING=hello from A"],
        HostConfig: { NetworkMode: "none" },
      });
      await container.start();
      // A change to the container's own filesystem: only commit or export keeps it.
      await engineA.exec(name, ["sh", "-c", `mkdir -p /srv && echo ${name} > /srv/marker && chown 1000:1000 /srv/marker`]);
    }
  });

  afterAll(async () => {
    await engineA.removeContainers(Object.values(names));
    await engineB.removeContainers(Object.values(names));
    await engineB.removeImages([...imagesOnB, BUSYBOX_IMAGE]);
    const committedOnA = (await engineA.docker.listImages()).flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith("cargohold-commit/"));
    await engineA.removeImages(committedOnA.filter((tag) => tag.includes(names.committed)));
    await deployment.tearDown();
  });

  it("export mode restores the flat filesystem and image settings", async () => {
    const { manifest } = await backupAndRestore({ containers: [names.exported], imageMode: "export" });

    const record = manifest.containers[0];
    expect(manifest.images).toEqual([]);
    expect(record.exportArtifactId).toBeDefined();
    expect(record.exportImageConfig.Cmd).toEqual(["/bin/sh"]);
    imagesOnB.push(record.restoreImage);
    expect(await engineB.exec(names.exported, ["cat", "/srv/marker"])).toBe(`${names.exported}\n`);
    expect(await engineB.exec(names.exported, ["stat", "-c", "%u:%g", "/srv/marker"])).toBe("1000:1000\n");
    const image = await engineB.docker.getImage(record.restoreImage).inspect();
    expect(image.Config.Cmd).toEqual(["/bin/sh"]);
    const container = await engineB.docker.getContainer(names.exported).inspect();
    expect(container.Config.Env).toContain("GREETING=hello from A");
    expect(container.Config.WorkingDir).toBe("/srv");
  });

  it("commit mode saves the changed container as an image", async () => {
    const { manifest } = await backupAndRestore({ containers: [names.committed], commit: true });

    const committed = (manifest.images as { tags: string[]; committedFrom?: string }[]).find((image) => image.committedFrom === names.committed);
    expect(committed?.tags[0]).toMatch(/^cargohold-commit\//);
    imagesOnB.push(...(committed?.tags ?? []));
    expect(manifest.containers[0].restoreImage).toBe(committed?.tags[0]);
    expect(await engineB.exec(names.committed, ["cat", "/srv/marker"])).toBe(`${names.committed}\n`);
  });
});
