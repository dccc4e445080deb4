import type { Logger } from "pino";
import type { DesktopClipboard } from "../clipboard/desktop";
import { PLAIN_TEXT, type ClipboardContent, type ClipboardStore } from "../clipboard/store";
import { agentError } from "./reasons";

const TYPE = /^[\x21-\x7e]{1,200}$/;

/** What a set-clipboard request carries: raw bytes, or JSON `{"content", "type"}`. */
export interface ClipboardInput {
  readonly data: Uint8Array;
  readonly contentType: string;
  /** `?type=`, else the JSON's `type`, else `X-Clipboard-Type`, else plain text. */
  readonly type: string | undefined;
  readonly headerType: string | undefined;
}

/**
 * The guest clipboard: the daemon's store, kept in step with the desktop's clipboard when the guest
 * has one (wl-clipboard or xclip with a display).
 */
export class GuestClipboard {
  constructor(
    private readonly store: ClipboardStore,
    private readonly desktop: DesktopClipboard | undefined,
    private readonly logger: Logger,
  ) {}

  async get(): Promise<ClipboardContent> {
    if (this.desktop) {
      const data = await this.desktop.read();
      // Something copied on the desktop since: it is the clipboard now.
      if (data && data.length > 0 && !data.equals(this.store.get().data)) this.store.set(data, PLAIN_TEXT);
    }
    return this.store.get();
  }

  async set(input: ClipboardInput): Promise<void> {
    let data = Buffer.from(input.data);
    let jsonType: string | undefined;
    if (/^application\/json\b/i.test(input.contentType)) {
      const parsed = parseJson(data);
      if (parsed && "content" in parsed) {
        if (typeof parsed.content !== "string") throw agentError("invalid_json", 'field "content" must be a string');
        if (parsed.type !== undefined && typeof parsed.type !== "string") throw agentError("invalid_json", 'field "type" must be a string');
        data = Buffer.from(parsed.content, "utf8");
        jsonType = parsed.type;
      }
    }
    const type = input.type || jsonType || input.headerType || PLAIN_TEXT;
    if (!TYPE.test(type)) throw agentError("invalid_argument", "the clipboard type must be 1 to 200 printable ASCII characters");
    this.store.set(data, type);
    if (this.desktop) {
      await this.desktop.write({ data, type }).catch((err: unknown) => this.logger.warn({ err, tool: this.desktop?.tool }, "desktop clipboard write failed"));
    }
  }
}

function parseJson(data: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
