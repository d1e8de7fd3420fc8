import { InvalidIdError } from "@cargohold/storage-layout";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "@cargohold/logging";
import type { ZodError } from "zod";

/** The one error type of the HTTP edge: a status, a stable code for programs, and a message for people. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(status, { message, cause: options.cause });
  }
}

/** Builds a 400 error that names each invalid field, with the value received for it. */
export function invalidRequest(what: string, error: ZodError, body?: unknown): ApiError {
  const details = error.issues
    .map((issue) => {
      const value = valueAt(body, issue.path);
      const shown = value === undefined ? "" : ` (got ${truncate(JSON.stringify(value), 80)})`;
      return `${issue.path.join(".") || "body"}${shown}: ${issue.message}`;
    })
    .join("; ");
  return new ApiError(400, "invalid_request", `invalid ${what}: ${details}`);
}

function valueAt(body: unknown, path: (string | number)[]): unknown {
  let current = body;
  for (const segment of path) {
    if (current === null || typeof current !== "object") {
      return undefined;
    }
    current = (current as Record<string | number, unknown>)[segment];
  }
  return path.length === 0 ? undefined : current;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

/**
 * Turns every thrown error into a JSON body. While Redis is not connected,
 * unexpected errors come from it, so they return 503 and name Redis.
 */
export function handleError(log: Logger, redisUnavailable: () => string | undefined) {
  return (error: Error, c: Context) => {
    if (error instanceof ApiError) {
      return c.json({ error: { code: error.code, message: error.message } }, error.status);
    }
    // A malformed backup, job or host id in a path or body, found wherever it was parsed.
    if (error instanceof InvalidIdError) {
      return c.json({ error: { code: "invalid_id", message: error.message } }, 400);
    }
    if (error instanceof HTTPException) {
      return c.json({ error: { code: "http_error", message: error.message } }, error.status);
    }
    const redisProblem = redisUnavailable();
    if (redisProblem !== undefined) {
      log.warn({ err: error, method: c.req.method, path: c.req.path }, "request failed while Redis is unavailable");
      return c.json({ error: { code: "redis_unavailable", message: `${redisProblem}: ${error.message}; check REDIS_URL and that Redis is running` } }, 503);
    }
    log.error({ err: error, method: c.req.method, path: c.req.path }, "request failed");
    return c.json({ error: { code: "internal", message: `internal error: ${error.message}` } }, 500);
  };
}

/** Parses a JSON body, or raises a 400 error with the reason when it is not JSON. */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (error) {
    throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${(error as Error).message}; check the body's syntax and send it with Content-Type: application/json`);
  }
}
