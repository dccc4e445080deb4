// The dashboard's only way to the daemon: the public HTTP and WebSocket API, as any script calls it.

/** An answer that was not 2xx, with the reason the API gave. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface ErrorBody {
  readonly error?: string;
  readonly message?: string;
}

/** Calls one route; bodies are JSON, as the listener requires of every body. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) init.headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  if (!response.ok) {
    const parsed = parseError(text);
    throw new ApiError(response.status, parsed.error ?? String(response.status), parsed.message ?? text);
  }
  return JSON.parse(text) as T;
}

function parseError(text: string): ErrorBody {
  try {
    return JSON.parse(text) as ErrorBody;
  } catch {
    return {};
  }
}

export const get = <T>(path: string): Promise<T> => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>("POST", path, body);

/** A WebSocket to a route of this same origin. */
export function socket(path: string): WebSocket {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return new WebSocket(`${scheme}//${location.host}${path}`);
}

export const segment = encodeURIComponent;
