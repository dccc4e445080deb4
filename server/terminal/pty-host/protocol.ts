/** Messages between the terminal service and its PTY host thread. */

export interface SpawnOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly columns: number;
  readonly rows: number;
}

export type ToHost =
  | { readonly type: "spawn"; readonly id: number; readonly options: SpawnOptions }
  | { readonly type: "write"; readonly id: number; readonly data: string | Uint8Array }
  | { readonly type: "resize"; readonly id: number; readonly columns: number; readonly rows: number }
  | { readonly type: "kill"; readonly id: number; readonly signal: string }
  | { readonly type: "pause" | "resume"; readonly id: number }
  /** Hang up every PTY, wait for their processes, then end the thread. */
  | { readonly type: "close" };

export type FromHost =
  | { readonly type: "spawned"; readonly id: number; readonly pid: number }
  | { readonly type: "failed"; readonly id: number; readonly message: string }
  | { readonly type: "data"; readonly id: number; readonly data: ArrayBuffer }
  | { readonly type: "exit"; readonly id: number; readonly exitCode: number; readonly signal: number };
