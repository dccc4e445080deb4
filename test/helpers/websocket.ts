import WebSocket from "ws";
import { waitFor } from "./wait";

/**
 * A WebSocket client session as a test reads it: binary frames appended to `output`, text frames
 * parsed into `texts`, and how it closed.
 */
export class WsSession {
  output = "";
  readonly texts: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, binary: boolean) => {
      if (binary) this.output += data.toString("utf8");
      else this.texts.push(JSON.parse(data.toString("utf8")) as Record<string, unknown>);
    });
    ws.on("close", (code: number, reason: Buffer) => (this.closed = { code, reason: reason.toString() }));
  }

  /** Opens `path` on a Unix socket (`ws+unix`) or a TCP endpoint (`ws://host:port`); rejects with the refusal's status and body. */
  static open(url: string, headers: Record<string, string> = {}): Promise<WsSession> {
    const ws = new WebSocket(url, { headers });
    const session = new WsSession(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(session));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => reject(new RefusedUpgrade(res.statusCode ?? 0, body)));
      });
    });
  }

  send(data: string | Buffer, binary = typeof data !== "string"): void {
    this.ws.send(data, { binary });
  }

  /** Waits until the output (from `from` on) matches; answers the match. */
  async waitForOutput(pattern: RegExp, from = 0, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return waitFor(`output matching ${pattern} (so far ${JSON.stringify(this.output.slice(-300))})`, () => this.output.slice(from).match(pattern) ?? undefined, timeoutMs);
  }

  waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitFor("the WebSocket to close", () => this.closed, timeoutMs);
  }
}

export class RefusedUpgrade extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the upgrade was refused with ${status}: ${body}`);
  }
}

/** `ws+unix://` URL of a path on a Unix socket. */
export function unixUrl(socketPath: string, path: string): string {
  return `ws+unix://${socketPath}:${path}`;
}
