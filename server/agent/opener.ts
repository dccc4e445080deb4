import { spawn } from "node:child_process";
import { findOnPath } from "../executables";
import { stat } from "node:fs/promises";
import type { Apps } from "./apps";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

/** How long an opener may run before it counts as having opened the file and kept going. */
const SETTLE_MS = 5000;

export interface OpenerContext {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The command that opens a path: `$GHOSTD_OPENER`, else xdg-open, else `gio open`. */
function openerCommand(env: OpenerContext["env"]): string[] | undefined {
  if (env.GHOSTD_OPENER) return env.GHOSTD_OPENER.split(/\s+/).filter(Boolean);
  const onPath = (name: string): boolean => findOnPath(name, env.PATH ?? "") !== undefined;
  if (onPath("xdg-open")) return ["xdg-open"];
  if (onPath("gio")) return ["gio", "open"];
  return undefined;
}

/** Opens an existing guest path with the guest's opener, or with the app given. */
export async function openPath(path: string, app: string | undefined, context: OpenerContext, apps: Apps): Promise<void> {
  const full = guestPath(path, context.home);
  await stat(full).catch((err: unknown) => Promise.reject(fsError(err, full)));
  if (app) return apps.launch(app, [full]);
  const command = openerCommand(context.env);
  if (!command?.[0]) throw agentError("no_opener", "the guest has no opener: install xdg-utils, or set GHOSTD_OPENER");
  const [file, ...args] = command;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  const child = spawn(file, [...args, full], { cwd: context.home, env, detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const outcome = await new Promise<{ code: number | null } | Error | "running">((resolve) => {
    const timer = setTimeout(() => resolve("running"), SETTLE_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code });
    });
  });
  child.unref();
  if (outcome instanceof Error) throw agentError("open_failed", `cannot run ${file}: ${outcome.message}`);
  if (outcome !== "running" && outcome.code !== 0) throw agentError("open_failed", `${file} failed (exit ${outcome.code ?? "by signal"}): ${stderr.trim()}`);
}
