import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import type { ControlPlane } from "@cargohold/control-plane";
import { cancelRequestKey } from "@cargohold/job-catalog";
import { Redis } from "ioredis";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, TestEngine, buildFixtureImages } from "./engine.js";
import { testEnvironment, waitFor } from "./environment.js";
import { Deployment, api, type JobBody, waitForJobEnd } from "./harness.js";
import { PrivateRedis, freePort, spawnAgent, stopProcess } from "./processes.js";

const env = testEnvironment();
const BIG_VOLUME_MIB = 400;

describe.skipIf(env === undefined)("faults: cancel, agent crash, Redis restart", () => {
  let redis: PrivateRedis;
  let deployment: Deployment;
  let run: string;
  let controlPlane: ControlPlane;
  const engineA = new TestEngine(env!.engineASocket);
  const engineB = new TestEngine(env!.engineBSocket);
  const names = { big: "", volume: "", small: "" };
  const children: ChildProcess[] = [];

  async function pendingUploads(): Promise<number> {
    const response = await deployment.s3.send(new ListMultipartUploadsCommand({ Bucket: deployment.bucket }));
    return response.Uploads?.length ?? 0;
  }

  async function waitForBytes(jobId: string, bytes: number): Promise<void> {
    await waitFor(`job ${jobId} to upload ${bytes} bytes`, async () => {
      const { body } = await api<JobBody>(controlPlane, "GET", `/v1/jobs/${jobId}`);
      if (body.state === "completed" || body.state === "failed") {
        throw new Error(`job ${jobId} ended (${body.state}) before the fault could be injected: ${body.error ?? ""}`);
      }
      const sent = Object.values(body.progress?.artifacts ?? {}).reduce((sum, artifact) => sum + artifact.bytes, 0);
      return sent >= bytes ? true : undefined;
    }, 120_000, 100);
  }

  async function isPaused(container: string): Promise<boolean> {
    return (await engineA.docker.getContainer(container).inspect()).State.Paused;
  }

  function agentEnvironment(hostId: string): Record<string, string> {
    return {
      CARGOHOLD_HOST_ID: hostId,
      CARGOHOLD_DOCKER_SOCKET: env!.engineASocket,
      REDIS_URL: redis.url,
      CARGOHOLD_QUEUE_PREFIX: deployment.queuePrefix,
      CARGOHOLD_AGENT_LISTEN: "off",
      CARGOHOLD_JOB_LOCK_SECONDS: "3",
      CARGOHOLD_HEARTBEAT_SECONDS: "1",
      CARGOHOLD_STORE: "s3",
      S3_BUCKET: deployment.bucket,
      S3_ENDPOINT: env!.s3.endpoint,
      S3_ACCESS_KEY_ID: env!.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: env!.s3.secretAccessKey,
      S3_CHECKSUM_MODE: env!.s3.checksumMode,
      S3_PART_SIZE_MIB: "8",
      LOG_LEVEL: "warn",
    };
  }

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    deployment = new Deployment({ ...env!, redisUrl: redis.url });
    run = deployment.runId;
    names.big = `big-${run}`;
    names.volume = `big-data-${run}`;
    names.small = `small-${run}`;
    await buildFixtureImages(env!.engineASocket, "busybox");
    await buildFixtureImages(env!.engineBSocket, "busybox");
    await deployment.createBucket();
    controlPlane = deployment.controlPlane();
    controlPlane.startFleetWorker({ sweepMs: 300 });

    const big = await engineA.docker.createContainer({
      name: names.big,
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "3600"],
      HostConfig: { NetworkMode: "none", Binds: [`${names.volume}:/data`] },
    });
    await big.start();
    // Random bytes do not compress, so the upload takes a few seconds: room to inject a fault.
    await engineA.exec(names.big, ["sh", "-c", `head -c ${BIG_VOLUME_MIB * 1024 * 1024} /dev/urandom > /data/blob`]);
    const small = await engineA.docker.createContainer({ name: names.small, Image: BUSYBOX_IMAGE, Cmd: ["sleep", "3600"], HostConfig: { NetworkMode: "none" } });
    await small.start();
  });

  afterAll(async () => {
    for (const child of children) {
      await stopProcess(child);
    }
    await engineA.removeContainers([names.big, names.small]);
    await engineB.removeContainers([names.big]);
    await engineB.removeImages([BUSYBOX_IMAGE]);
    await engineA.removeVolumes([names.volume]);
    await deployment.tearDown();
    await redis.remove();
  });

  it("cancels a queued job at once", async () => {
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId: `nobody-${run}` });

    const cancelled = await api(controlPlane, "DELETE", `/v1/jobs/${body.jobId}`);

    expect(cancelled).toEqual({ status: 200, body: { id: body.jobId, state: "cancelled" } });
    expect((await api(controlPlane, "GET", `/v1/jobs/${body.jobId}`)).status).toBe(404);
  });

  it("cancels a running backup and leaves nothing half-written", async () => {
    const hostId = `cancel-${run}`;
    await deployment.startAgent(hostId, env!.engineASocket);
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId, containers: [names.big], consistency: "pause" });
    await waitForBytes(body.jobId as string, 16 * 1024 * 1024);
    expect(await isPaused(names.big)).toBe(true);

    const cancel = await api(controlPlane, "DELETE", `/v1/jobs/${body.jobId}`);
    const job = await waitForJobEnd(controlPlane, body.jobId as string, 60_000);

    expect(cancel.status).toBe(202);
    expect(job.state).toBe("cancelled");
    expect(job.error).toMatch(/^cancelled/);
    expect(await isPaused(names.big)).toBe(false);
    expect((await api(controlPlane, "GET", `/v1/backups/${body.backupId}`)).status).toBe(404);
    expect(await pendingUploads()).toBe(0);
    const finished = await api<{ error: { code: string } }>(controlPlane, "DELETE", `/v1/jobs/${body.jobId}`);
    expect(finished.status).toBe(409);
  });

  it("cancels through the stored request when pub/sub is missed", async () => {
    const hostId = `cancel-stored-${run}`;
    await deployment.startAgent(hostId, env!.engineASocket);
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId, containers: [names.big], consistency: "none" });
    await waitForBytes(body.jobId as string, 16 * 1024 * 1024);

    // Only the stored request, as if the agent's subscriber was reconnecting when the message went out.
    const client = new Redis(redis.url);
    await client.set(cancelRequestKey(deployment.queuePrefix, body.jobId as string), "1", "EX", 60);
    await client.quit();
    const job = await waitForJobEnd(controlPlane, body.jobId as string, 60_000);

    expect(job.state).toBe("cancelled");
    expect(job.error).toMatch(/^cancelled/);
    expect(await pendingUploads()).toBe(0);
  });

  it("recovers from kill -9 of an agent mid-backup", async () => {
    const hostId = `crash-${run}`;
    const first = spawnAgent(agentEnvironment(hostId));
    children.push(first);
    const { body } = await api(controlPlane, "POST", "/v1/backups", { hostId, containers: [names.big], consistency: "pause" });
    await waitForBytes(body.jobId as string, 16 * 1024 * 1024);

    await stopProcess(first, "SIGKILL");

    // The crash leaves the container paused and no manifest; the parts stay until the job runs again.
    expect(await isPaused(names.big)).toBe(true);
    expect((await api(controlPlane, "GET", `/v1/backups/${body.backupId}`)).status).toBe(404);

    const second = spawnAgent(agentEnvironment(hostId));
    children.push(second);
    await waitFor("the restarted agent to resume the container", async () => ((await isPaused(names.big)) ? undefined : true), 60_000);
    const job = await waitForJobEnd(controlPlane, body.jobId as string, 180_000);

    expect(job.error).toBeUndefined();
    expect(job.state).toBe("completed");
    expect((await api(controlPlane, "GET", `/v1/backups/${body.backupId}`)).status).toBe(200);
    expect(await pendingUploads()).toBe(0);
    expect(await isPaused(names.big)).toBe(false);
    await stopProcess(second);
  });

  it("goes on after a Redis restart in the middle of a run", async () => {
    const slowHost = `redis-slow-${run}`;
    const fastHost = `redis-fast-${run}`;
    // Engine B has a container of the same name with no data, so one host finishes fast and one is mid-upload.
    const twin = await engineB.docker.createContainer({ name: names.big, Image: BUSYBOX_IMAGE, Cmd: ["sleep", "3600"], HostConfig: { NetworkMode: "none" } });
    await twin.start();
    await deployment.startAgent(slowHost, env!.engineASocket);
    await deployment.startAgent(fastHost, env!.engineBSocket);
    const { body } = await api(controlPlane, "POST", "/v1/runs", { target: { hostIds: [slowHost, fastHost] }, backup: { containers: [names.big] } });
    const { body: view } = await api<{ hosts: string[]; jobs: { hostId: string; jobId: string }[] }>(controlPlane, "GET", `/v1/runs/${body.runId}`);
    expect(view.hosts.sort()).toEqual([fastHost, slowHost].sort());
    await waitForBytes(view.jobs.find((job) => job.hostId === slowHost)!.jobId, 16 * 1024 * 1024);

    await redis.stop();
    await redis.start();

    const finished = await waitFor(`run ${body.runId} after the restart`, async () => {
      const { status, body: view } = await api<{ state: string; result?: { status: string } }>(controlPlane, "GET", `/v1/runs/${body.runId}`);
      return status === 200 && (view.state === "completed" || view.state === "failed") ? view : undefined;
    }, 180_000, 500);
    expect(finished.result).toMatchObject({ status: "completed" });

    const { body: next } = await api(controlPlane, "POST", "/v1/backups", { hostId: slowHost, containers: [names.small] });
    const nextJob = await waitForJobEnd(controlPlane, next.jobId as string);
    expect(nextJob.state).toBe("completed");
  });
});
