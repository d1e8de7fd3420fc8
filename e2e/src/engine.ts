import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Docker from "dockerode";
import { extract } from "tar-stream";
import { waitFor } from "./environment.js";

const run = promisify(execFile);
const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const BUSYBOX_IMAGE = "cargohold-fixture/busybox:1";
export const MARIADB_IMAGE = "cargohold-fixture/mariadb:1";

/** Builds the fixture images into an engine with the project's script; cached images make this fast. */
export async function buildFixtureImages(socket: string, only?: "busybox" | "mariadb"): Promise<void> {
  const args = [path.join(REPOSITORY_ROOT, "infra/fixtures/build-images.sh"), socket, ...(only ? ["--only", only] : [])];
  await run("bash", args, { maxBuffer: 16 * 1024 * 1024 });
}

/** Test-side access to one engine, for setting up containers and checking results. */
export class TestEngine {
  readonly docker: Docker;

  constructor(readonly socket: string) {
    this.docker = new Docker({ socketPath: socket });
  }

  /** Runs a command in a container and returns its output; a non-zero exit throws with the output. */
  async exec(container: string, command: string[]): Promise<string> {
    const exec = await this.docker.getContainer(container).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    stderr.on("data", (chunk: Buffer) => errors.push(chunk));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    const { ExitCode } = await exec.inspect();
    const output = Buffer.concat(chunks).toString("utf8");
    if (ExitCode !== 0) {
      throw new Error(`${command.join(" ")} in ${container} exited with ${ExitCode}: ${Buffer.concat(errors).toString("utf8")}${output}`);
    }
    return output;
  }

  async waitForMariaDb(container: string): Promise<void> {
    await waitFor(`MariaDB in ${container}`, async () => ((await this.exec(container, ["mariadb", "-uroot", "-e", "SELECT 1"])) ? true : undefined), 120_000, 300);
  }

  async hasImage(reference: string): Promise<boolean> {
    try {
      await this.docker.getImage(reference).inspect();
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) {
        return false;
      }
      throw error;
    }
  }

  async volumeNames(): Promise<string[]> {
    const { Volumes } = await this.docker.listVolumes();
    return (Volumes ?? []).map((volume) => volume.Name).sort();
  }

  async containerNames(): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: true });
    return containers.map((container) => (container.Names[0] ?? "").replace(/^\//, "")).sort();
  }

  /** Describes every entry under a path of a container: type, mode, owner, size, link target and content hash. */
  async describeTree(container: string, containerPath: string): Promise<string[]> {
    const archive = (await this.docker.getContainer(container).getArchive({ path: containerPath })) as unknown as Readable;
    return describeTar(archive);
  }

  /** Removes what a test created, ignoring what is already gone. */
  async removeContainers(names: string[]): Promise<void> {
    for (const name of names) {
      await this.docker
        .getContainer(name)
        .remove({ force: true, v: false })
        .catch(() => undefined);
    }
  }

  async removeImages(references: string[]): Promise<void> {
    for (const reference of references) {
      await this.docker
        .getImage(reference)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }

  async removeVolumes(names: string[]): Promise<void> {
    for (const name of names) {
      await this.docker
        .getVolume(name)
        .remove()
        .catch(() => undefined);
    }
  }
}

/** Describes each tar entry on one line, sorted, with the first path segment dropped so trees from different roots compare equal. */
export async function describeTar(archive: Readable): Promise<string[]> {
  const lines: string[] = [];
  const reader = extract();
  reader.on("entry", (header, stream, next) => {
    const hash = createHash("sha256");
    stream.on("data", (chunk: unknown) => hash.update(chunk as Buffer));
    stream.on("end", () => {
      const name = header.name.split("/").slice(1).join("/");
      const mode = ((header.mode ?? 0) & 0o7777).toString(8);
      const content = header.type === "file" ? hash.digest("hex").slice(0, 16) : "";
      lines.push([name, header.type, mode, `${header.uid}:${header.gid}`, header.size, header.linkname ?? "", content].join(" "));
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    reader.on("finish", resolve);
    reader.on("error", reject);
    archive.on("error", reject);
    archive.pipe(reader);
  });
  return lines.sort();
}
