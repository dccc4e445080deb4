import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { replaceFile } from "../atomic-file";
import { KeyedSerial } from "../serial";
import { agentError } from "./reasons";

/** Schemes a guest may ask the host to open: a web page or a mail; never a host file or an app's own scheme. */
const SCHEMES = new Set(["http:", "https:", "mailto:"]);
const MAX_URLS = 1000;
const MAX_URL_LENGTH = 8192;

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw agentError("invalid_argument", `${JSON.stringify(url.slice(0, 200))} is not an absolute URL`);
  }
  if (!SCHEMES.has(parsed.protocol)) throw agentError("invalid_argument", `only http, https and mailto URLs are opened on the host, not ${parsed.protocol}`);
  if (url.length > MAX_URL_LENGTH) throw agentError("invalid_argument", `the URL is ${url.length} characters long; at most ${MAX_URL_LENGTH}`);
  return parsed.href;
}

/**
 * URLs the guest asked the host to open, oldest first, until the host takes them. Kept in a JSON
 * file, written atomically, so none is lost to an agent restart; `onAdded` hears each as it comes.
 */
export class UrlQueue {
  private urls: string[];
  private readonly changes = new KeyedSerial();

  constructor(
    private readonly file: string,
    private readonly onAdded: (url: string) => void = () => undefined,
  ) {
    this.urls = UrlQueue.load(file);
  }

  async add(url: string): Promise<string[]> {
    const checked = checkUrl(url);
    const urls = await this.change((urls) => {
      if (urls.length >= MAX_URLS) throw agentError("invalid_argument", `${MAX_URLS} URLs wait for the host already; it takes them with GET /api/v1/urls`);
      return [...urls, checked];
    });
    this.onAdded(checked);
    return urls;
  }

  /** The queued URLs, oldest first; the queue is empty afterwards. */
  take(): Promise<string[]> {
    return this.changes.run("queue", async () => {
      const taken = this.urls;
      await this.save([]);
      return taken;
    });
  }

  async clear(): Promise<void> {
    await this.change(() => []);
  }

  private change(next: (urls: readonly string[]) => string[]): Promise<string[]> {
    return this.changes.run("queue", async () => {
      await this.save(next(this.urls));
      return [...this.urls];
    });
  }

  private async save(urls: string[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await replaceFile(this.file, `${JSON.stringify({ urls }, null, 2)}\n`);
    this.urls = urls;
  }

  private static load(file: string): string[] {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as { urls?: unknown };
      return Array.isArray(parsed.urls) ? parsed.urls.filter((u): u is string => typeof u === "string") : [];
    } catch {
      return [];
    }
  }
}
