import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { Client, ServiceError } from "@grpc/grpc-js";
import { decodeReply, serverStreamCall, unaryCall } from "../transport/method-calls";
import { isHttpBodyField } from "../transcoder/routes";

/** What a method answered: its one reply, or its stream read as one message. */
export interface MethodReply {
  readonly message: Message;
  /** Set when the stream was longer than the read limit and was cut there. */
  readonly streamCutAt?: number;
}

/** Bytes of a stream read before the rest is given up: far more than any tool's output shows. */
export const STREAM_READ_LIMIT = 4 * 1024 * 1024;

/**
 * Calls a unary or server-streaming method. A stream is read to its end and its messages merged as
 * protobuf merges them (lists joined, later values winning), file content joined; past
 * STREAM_READ_LIMIT bytes it is cancelled and what came is the answer. Aborting cancels the call.
 */
export async function callForReply(client: Client, method: DescMethod, request: Buffer, signal: AbortSignal): Promise<MethodReply> {
  if (method.methodKind === "unary") {
    const { call, reply } = unaryCall(client, method, request);
    const cancel = (): void => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      return { message: decodeReply(method, await reply) };
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }
  const { replies, cutAt } = await readStream(client, method, request, signal);
  return { message: mergeReplies(method, replies), ...(cutAt === undefined ? {} : { streamCutAt: cutAt }) };
}

function readStream(client: Client, method: DescMethod, request: Buffer, signal: AbortSignal): Promise<{ replies: Buffer[]; cutAt?: number }> {
  return new Promise((resolve, reject) => {
    const call = serverStreamCall(client, method, request);
    const replies: Buffer[] = [];
    let bytes = 0;
    let cutAt: number | undefined;
    const cancel = (): void => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const settle = (err?: ServiceError): void => {
      signal.removeEventListener("abort", cancel);
      if (err && cutAt === undefined) reject(err);
      else resolve(cutAt === undefined ? { replies } : { replies, cutAt });
    };
    call.on("data", (reply: Buffer) => {
      if (cutAt !== undefined) return;
      replies.push(reply);
      bytes += reply.length;
      if (bytes >= STREAM_READ_LIMIT) {
        cutAt = bytes;
        call.cancel();
      }
    });
    call.on("error", (err: ServiceError) => settle(err));
    call.on("end", () => settle());
  });
}

/** The stream as one message: its encodings concatenated are their merge; HttpBody data is joined instead of replaced. */
function mergeReplies(method: DescMethod, replies: readonly Buffer[]): Message {
  const merged = decodeReply(method, Buffer.concat(replies));
  const bodies = method.output.fields.filter(isHttpBodyField);
  if (bodies.length === 0) return merged;
  const messages = replies.map((reply) => decodeReply(method, reply));
  for (const field of bodies) {
    const chunks = messages.flatMap((m) => {
      const body = (m as unknown as Record<string, { data?: Uint8Array } | undefined>)[field.localName];
      return body?.data ? [body.data] : [];
    });
    const target = (merged as unknown as Record<string, { data?: Uint8Array } | undefined>)[field.localName];
    if (target) target.data = Buffer.concat(chunks);
  }
  return merged;
}
