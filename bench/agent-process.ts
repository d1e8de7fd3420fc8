/**
 * A child process of fleet-fanout.ts that runs a share of the simulated
 * agents, for when one process cannot hold every Worker. It talks to its
 * parent over the IPC channel: it receives one "start" message, then sends
 * "ready", one "taken" per job and "closed" after a "close" message.
 */
import { createLogger } from "@cargohold/logging";
import { type SimulatedAgents, startSimulatedAgents, type TakenJob } from "./simulated-agents.js";

export type ParentMessage = { type: "start"; port: number; prefix: string; hostIds: string[] } | { type: "close" };
export type ChildMessage =
  | { type: "ready"; workers: number; rssBytes: number }
  | { type: "taken"; taken: TakenJob }
  | { type: "closed"; errors: number }
  | { type: "failed"; message: string };

const send = (message: ChildMessage) => process.send?.(message);

if (process.send === undefined) {
  console.error("agent-process.ts runs only as a child of bench/fleet-fanout.ts, which starts it with an IPC channel");
  process.exit(2);
}

const log = createLogger("bench-agents", process.env.LOG_LEVEL ?? "warn");
let agents: SimulatedAgents | undefined;

process.on("message", (message: ParentMessage) => {
  if (message.type === "start") {
    startSimulatedAgents({ port: message.port, prefix: message.prefix, hostIds: message.hostIds, log, onTaken: (taken) => send({ type: "taken", taken }) })
      .then((started) => {
        agents = started;
        send({ type: "ready", workers: started.workers, rssBytes: process.memoryUsage().rss });
      })
      .catch((error: unknown) => send({ type: "failed", message: String(error) }));
    return;
  }
  const closing = agents?.close() ?? Promise.resolve();
  closing
    .then(() => send({ type: "closed", errors: agents?.errors() ?? 0 }))
    .catch((error: unknown) => send({ type: "failed", message: `closing the workers failed: ${String(error)}` }))
    .finally(() => process.disconnect());
});

// The parent may die without sending "close"; the IPC channel then closes and this process must not linger.
process.on("disconnect", () => {
  setTimeout(() => process.exit(0), 5_000).unref();
});
