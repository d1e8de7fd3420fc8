import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { repeatLimitedWarning } from "./index.js";

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
