import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeSettingsIssues, repeatLimitedWarning } from "./index.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()));
      callback();
    },
  });
  return { log: pino({ level: "info" }, destination), lines };
}

describe("repeatLimitedWarning", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("logs once per interval with the repeat count", () => {
    vi.useFakeTimers({ now: 0 });
    const { log, lines } = capture();
    const warn = repeatLimitedWarning(log, "Redis connection error; retrying", 1000);

    warn(new Error("refused"));
    warn(new Error("refused"));
    warn(new Error("refused"));
    vi.setSystemTime(1500);
    warn(new Error("refused"));

    expect(lines.map((line) => line.repeats)).toEqual([0, 2]);
    expect(lines[0]?.msg).toBe("Redis connection error; retrying");
  });
});

describe("describeSettingsIssues", () => {
  it("shows values but hides secrets", () => {
    const env = { S3_PART_SIZE_MIB: "x", S3_SECRET_ACCESS_KEY: "hunter2" };

    const text = describeSettingsIssues(
      [
        { path: ["S3_PART_SIZE_MIB"], message: "expected a number" },
        { path: ["S3_SECRET_ACCESS_KEY"], message: "too short" },
      ],
      env,
    );

    expect(text).toBe('S3_PART_SIZE_MIB (got "x"): expected a number; S3_SECRET_ACCESS_KEY (value hidden): too short');
    expect(text).not.toContain("hunter2");
  });
});
