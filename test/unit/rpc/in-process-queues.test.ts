import { Metadata, status as GrpcStatus, type InterceptingListener, type StatusObject } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { Replies } from "../../../server/rpc/in-process/replies";
import { RequestQueue } from "../../../server/rpc/in-process/requests";

const KiB = 1024;
const ticks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("in-process requests", () => {
  it("hands requests over in order and ends once the client has half-closed and all are read", async () => {
    const queue = new RequestQueue();
    queue.push("a", 1, () => undefined);
    queue.push("b", 1, () => undefined);
    queue.end();
    assert.deepEqual(await queue.next(), { value: "a", done: false });
    assert.deepEqual(await queue.next(), { value: "b", done: false });
    assert.equal((await queue.next()).done, true);
  });

  it("holds a client's write back once a window's worth is unread, and lets it go as the method reads", async () => {
    const queue = new RequestQueue();
    const accepted: string[] = [];
    for (const name of ["one", "two", "three"]) queue.push(name, 40 * KiB, () => accepted.push(name));
    assert.deepEqual(accepted, ["one"], "40 KiB fits the 64 KiB window; 80 KiB does not");
    await queue.next();
    assert.deepEqual(accepted, ["one", "two"]);
    await queue.next();
    assert.deepEqual(accepted, ["one", "two", "three"]);
  });

  it("fails a waiting read when the client goes away, and tells every held write it was taken", async () => {
    const queue = new RequestQueue();
    const waiting = queue.next();
    queue.fail(new Error("gone"));
    await assert.rejects(waiting, /gone/);
    const other = new RequestQueue();
    let taken = 0;
    for (let i = 0; i < 3; i++) other.push(i, 64 * KiB, () => taken++);
    other.fail(new Error("gone"));
    assert.equal(taken, 3);
    await assert.rejects(other.next(), /gone/);
  });
});

/** A listener that writes down what reaches it, in order. */
function recorder(): { events: string[]; statuses: StatusObject[]; listener: InterceptingListener } {
  const events: string[] = [];
  const statuses: StatusObject[] = [];
  return {
    events,
    statuses,
    listener: {
      onReceiveMetadata: (md) => events.push(`headers ${JSON.stringify(md.getMap())}`),
      onReceiveMessage: (message: Buffer) => events.push(`message ${message.toString()}`),
      onReceiveStatus: (status) => {
        statuses.push(status);
        events.push(`status ${status.code}`);
      },
    },
  };
}

const ok = (): StatusObject => ({ code: GrpcStatus.OK, details: "OK", metadata: new Metadata() });

describe("in-process replies", () => {
  it("delivers nothing inside the caller's own call, headers first, one message per read, the status last", async () => {
    const replies = new Replies();
    const { events, listener } = recorder();
    replies.start(listener);
    const taken: string[] = [];
    replies.write(Buffer.from("a"), () => taken.push("a"));
    replies.write(Buffer.from("b"), () => taken.push("b"));
    replies.finish(ok());
    assert.deepEqual(events, [], "nothing is delivered synchronously");
    await ticks();
    assert.deepEqual(events, ["headers {}"], "a message waits for a read");
    replies.read();
    await ticks();
    assert.deepEqual(taken, ["a"]);
    replies.read();
    await ticks();
    assert.deepEqual(events, ["headers {}", "message a", "message b", "status 0"]);
    assert.deepEqual(taken, ["a", "b"]);
  });

  it("sends a failure before any response as trailers only, with no headers", async () => {
    const replies = new Replies();
    const { events, listener } = recorder();
    replies.start(listener);
    replies.finish({ code: GrpcStatus.NOT_FOUND, details: "no", metadata: new Metadata() });
    await ticks();
    assert.deepEqual(events, ["status 5"]);
  });

  it("keeps the headers a method sent, and ignores any it sends after", async () => {
    const replies = new Replies();
    const { events, listener } = recorder();
    replies.start(listener);
    const first = new Metadata();
    first.set("x-first", "1");
    const late = new Metadata();
    late.set("x-late", "1");
    replies.sendMetadata(first);
    replies.sendMetadata(late);
    replies.finish(ok());
    await ticks();
    assert.deepEqual(events, ['headers {"x-first":"1"}', "status 0"]);
  });

  it("on a cancel drops what is unread, and the cancellation wins over an OK not yet delivered", async () => {
    const replies = new Replies();
    const { statuses, listener } = recorder();
    replies.start(listener);
    let taken = 0;
    replies.write(Buffer.from("unread"), () => taken++);
    replies.finish(ok());
    replies.cancel({ code: GrpcStatus.CANCELLED, details: "Cancelled on client", metadata: new Metadata() });
    await ticks();
    assert.equal(taken, 1, "the method is not left waiting on a dropped response");
    assert.deepEqual(
      statuses.map((s) => s.code),
      [GrpcStatus.CANCELLED],
    );
  });
});
