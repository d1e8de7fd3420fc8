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

export function invalidRequest(what: string, error: ZodError): ApiError {
  const details = error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
  return new ApiError(400, "invalid_request", `invalid ${what}: ${details}`);
}

/** Turns every thrown error into a JSON body; unexpected ones are logged and shown without internals. */
export function handleError(log: Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof ApiError) {
      return c.json({ error: { code: error.code, message: error.message } }, error.status);
    }
    if (error instanceof HTTPException) {
      return c.json({ error: { code: "http_error", message: error.message } }, error.status);
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
    throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${(error as Error).message}; send Content-Type: application/json`);
  }
}
