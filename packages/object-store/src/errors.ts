/** A failure of an object-store call, naming the operation and key. */
export class ObjectStoreError extends Error {
  override readonly name: string = "ObjectStoreError";
  /** True when retrying the same call cannot succeed, such as for a missing bucket or bad credentials. */
  readonly permanent: boolean;

  constructor(message: string, options: { cause?: unknown; permanent?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent ?? false;
  }
}

export class ObjectNotFoundError extends ObjectStoreError {
  override readonly name = "ObjectNotFoundError";

  constructor(
    readonly key: string,
    location: string,
    cause?: unknown,
  ) {
    super(`object ${key} not found in ${location}`, { cause, permanent: true });
  }
}

export class InvalidKeyError extends ObjectStoreError {
  override readonly name = "InvalidKeyError";

  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`, { permanent: true });
  }
}

/** Rejects keys that would escape a folder or that S3 treats differently from a file system. */
export function assertValidKey(key: string): void {
  if (key === "" || key.length > 1024) {
    throw new InvalidKeyError(key, "a key has 1 to 1024 characters");
  }
  if (key.startsWith("/") || key.endsWith("/")) {
    throw new InvalidKeyError(key, "a key neither starts nor ends with a slash");
  }
  if (key.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new InvalidKeyError(key, 'a key has no empty, "." or ".." segments');
  }
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new InvalidKeyError(key, "a key has no control characters or backslashes");
  }
}
