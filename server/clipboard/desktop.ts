import { spawn } from "node:child_process";
import { findOnPath } from "../executables";
import { PLAIN_TEXT, type ClipboardContent } from "./store";

/** The guest desktop's clipboard, when one is there to keep in sync. */
export interface DesktopClipboard {
  readonly tool: string;
  read(): Promise<Buffer | undefined>;
  write(content: ClipboardContent): Promise<void>;
}

/** A clipboard type as a media type: `public.utf8-plain-text` is text, `public.png` an image... */
export function mediaTypeOf(type: string): string {
  if (type === PLAIN_TEXT || type === "public.plain-text") return "text/plain;charset=utf-8";
  if (type === "public.png") return "image/png";
  if (type === "public.jpeg") return "image/jpeg";
  if (type === "public.html") return "text/html";
  return type.includes("/") ? type : "text/plain;charset=utf-8";
}

/** wl-copy/wl-paste under Wayland, xclip under X; none without a display or the tools. */
export function desktopClipboard(env: Readonly<Record<string, string | undefined>>): DesktopClipboard | undefined {
  const onPath = (name: string): boolean => findOnPath(name, env.PATH ?? "") !== undefined;
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  if (env.WAYLAND_DISPLAY && onPath("wl-copy") && onPath("wl-paste")) {
    return {
      tool: "wl-clipboard",
      read: () => run("wl-paste", ["--no-newline"], childEnv),
      write: async (content) => {
        await run("wl-copy", ["--type", mediaTypeOf(content.type)], childEnv, content.data);
      },
    };
  }
  if (env.DISPLAY && onPath("xclip")) {
    return {
      tool: "xclip",
      read: () => run("xclip", ["-selection", "clipboard", "-o"], childEnv),
      write: async (content) => {
        await run("xclip", ["-selection", "clipboard", "-t", mediaTypeOf(content.type), "-i"], childEnv, content.data);
      },
    };
  }
  return undefined;
}

/**
 * Runs a clipboard tool; its output, or undefined when it fails (an empty clipboard does). A
 * writing tool forks a process that keeps serving the selection; its parent's exit means the
 * clipboard holds the new content.
 */
function run(file: string, args: string[], env: Record<string, string>, input?: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: [input ? "pipe" : "ignore", input ? "ignore" : "pipe", "ignore"] });
    const chunks: Buffer[] = [];
    child.stdout?.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => resolve(undefined), 3000);
    child.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    // Output is complete at "close"; a writer is done at "exit", whatever its fork still holds.
    child.once(input ? "exit" : "close", (code: number | null) => {
      clearTimeout(timer);
      resolve(code === 0 ? Buffer.concat(chunks) : undefined);
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}
