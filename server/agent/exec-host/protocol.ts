import type { Code } from "../../errors";
import type { ExecRequest, ExecResult } from "../exec";

/** Messages between the agent and its exec host process. */
export type ToExecHost =
  | { readonly type: "run"; readonly id: number; readonly request: ExecRequest; readonly home: string; readonly outputLimit: number; readonly stream: boolean }
  | { readonly type: "ack" | "cancel" | "ping"; readonly id: number };

export type FromExecHost =
  | { readonly type: "pong"; readonly id: number }
  | { readonly type: "chunk"; readonly id: number; readonly stream: "stdout" | "stderr"; readonly data: Uint8Array }
  | { readonly type: "done"; readonly id: number; readonly result: ExecResult }
  | { readonly type: "failed"; readonly id: number; readonly error: { readonly code: Code; readonly reason: string; readonly message: string } | { readonly message: string } };
