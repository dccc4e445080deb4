import type { JsonValue } from "@bufbuild/protobuf";
import { credentials } from "@grpc/grpc-js";
import { SupervisorProgressClient } from "../generated/ghostd/supervisor/v1/progress";
import { followStream, invoke, printJson } from "./calls";
import { PullDisplay, type ProgressTerminal } from "./open-progress";
import { followSnapshotProgress } from "./snapshot-progress";

/** Where the progress of `open` and the snapshot commands is drawn, when it is a terminal. */
const stderrTerminal: ProgressTerminal = { write: (text) => process.stderr.write(text), columns: () => process.stderr.columns || 80 };

/** How long the pull bars wait, once the open has answered, for the log's last pull lines. */
const SETTLE_WAIT_MS = 1000;

/** `ghostctl open`: the open's answer, and on a terminal a bar for each image it pulls. */
export async function openWithProgress(target: string, project: string, progress: boolean): Promise<void> {
  const pulls = progress && process.stderr.isTTY ? await showPulls(target, project) : undefined;
  try {
    await invoke(target, "Supervisor/OpenProject", { project_id: project }, (json) => {
      pulls?.finish((json as { images_pulled?: string[] }).images_pulled ?? []);
      printJson(json);
    });
  } finally {
    await pulls?.stop();
  }
}

/**
 * Follows the project's log from now on (no old lines) and draws its pull lines as bars on
 * stderr; resolves once the daemon follows, so the open that comes next is seen from its start.
 */
async function showPulls(target: string, project: string): Promise<{ finish(pulled: readonly string[]): void; stop(): Promise<void> }> {
  const display = new PullDisplay(stderrTerminal);
  const follow = followStream(target, "Supervisor/GetProjectLogs", { project_id: project, follow: true, tail_lines: 0 }, (json) => {
    display.take(((json as { entries?: { line: string }[] }).entries ?? []).map((entry) => entry.line));
  });
  await follow.following;
  return {
    finish: (pulled) => display.finish(pulled),
    stop: async () => {
      // A failed pull's line may come a moment after the open's error.
      await display.whenSettled(SETTLE_WAIT_MS);
      display.finish();
      follow.cancel();
    },
  };
}

/**
 * Calls a snapshot method and prints its answer; with `progress` and stderr a terminal, the
 * project's snapshot progress is followed from before the call and drawn as a bar while it runs.
 */
export async function invokeWithProgress(target: string, project: string, progress: boolean, name: string, json: JsonValue): Promise<void> {
  const watch = progress && process.stderr.isTTY ? await watchSnapshots(target, project) : undefined;
  try {
    await invoke(target, name, json, (reply) => {
      watch?.stop();
      printJson(reply);
    });
  } finally {
    watch?.stop();
  }
}

async function watchSnapshots(target: string, project: string): Promise<{ stop(): void }> {
  const client = new SupervisorProgressClient(target, credentials.createInsecure());
  const watch = await followSnapshotProgress(client.watchSnapshotProgress({ projectId: project }), stderrTerminal);
  return {
    stop: () => {
      watch.stop();
      client.close();
    },
  };
}
