import { Client, credentials, Metadata, Server, ServerCredentials, status as GrpcStatus, type ClientReadableStream, type MethodDefinition, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { join } from "node:path";
import pino from "pino";
import { reasonOf } from "../../../gateway/transcoder/errors";
import { Code, DomainError } from "../../../server/errors";
import { bidiStream, bindService, clientStream, serverStream, unary, type ServiceBinding } from "../../../server/rpc/bind";
import { InProcessChannel } from "../../../server/rpc/in-process/channel";
import { tempDir } from "../../helpers/tmp";
import { waitFor } from "../../helpers/wait";

const logger = pino({ level: "silent" });
const text = (value: Buffer | string): Buffer => Buffer.from(value);
const identity = (bytes: Buffer): Buffer => bytes;

/** A test-only service whose messages are raw bytes: every kind of method, and one left unbound. */
function method(name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Buffer, Buffer> {
  const path = `/ghostd.test.v1.Echo/${name}`;
  return { path, requestStream, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}
const EchoService = {
  say: method("Say", false, false),
  wait: method("Wait", false, false),
  fail: method("Fail", false, false),
  count: method("Count", false, true),
  join: method("Join", true, false),
  echo: method("Echo", true, true),
  missing: method("Missing", false, false),
};

/** What the service saw, for the tests to check the server's side of a call. */
interface Seen {
  aborted: number;
  produced: number;
  metadata: Metadata | undefined;
}

function echoService(seen: Seen): ServiceBinding {
  const untilAborted = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) =>
      signal.addEventListener("abort", () => {
        seen.aborted++;
        resolve();
      }),
    );
  return bindService(EchoService, {
    say: unary(logger, (request: Buffer, { metadata, sendMetadata }) => {
      seen.metadata = metadata;
      const headers = new Metadata();
      headers.set("x-said", "yes");
      sendMetadata(headers);
      return text(`said ${request.toString()}`);
    }),
    wait: unary(logger, async (_request: Buffer, { signal }) => {
      await untilAborted(signal);
      return text("late");
    }),
    fail: unary(logger, () => {
      throw new DomainError(Code.NOT_FOUND, "no_echo", "nothing to echo");
    }),
    count: serverStream(logger, function* (request: Buffer, { signal }) {
      // "count" or "count:bytes", each response padded to that size.
      const [limit = 0, bytes = 0] = request.toString().split(":").map(Number);
      signal.addEventListener("abort", () => seen.aborted++);
      for (let i = 1; i <= limit; i++) {
        seen.produced = i;
        yield Buffer.concat([text(String(i)), Buffer.alloc(Math.max(0, bytes - String(i).length))]);
      }
    }),
    join: clientStream(logger, async (requests: AsyncIterator<Buffer>) => {
      const parts: string[] = [];
      for (let next = await requests.next(); !next.done; next = await requests.next()) parts.push(next.value.toString());
      return text(parts.join("+"));
    }),
    echo: bidiStream(logger, (requests: AsyncIterator<Buffer>) =>
      Promise.resolve(
        (async function* () {
          for (let next = await requests.next(); !next.done; next = await requests.next()) yield text(`echo ${next.value.toString()}`);
          yield text("bye");
        })(),
      ),
    ),
  });
}

type Answer = { err: ServiceError | null; reply: Buffer | undefined; headers: Metadata | undefined };

function callUnary(client: Client, name: keyof typeof EchoService, request: string, options: { deadline?: Date } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const call = client.makeUnaryRequest(EchoService[name].path, identity, identity, text(request), new Metadata(), options, (err, reply) => resolve({ err, reply, headers }));
    call.on("metadata", (md: Metadata) => (headers = md));
  });
}

function collect(stream: ClientReadableStream<Buffer>): Promise<{ replies: string[]; err: ServiceError | undefined }> {
  const replies: string[] = [];
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => replies.push(chunk.toString()));
    stream.on("error", (err: ServiceError) => resolve({ replies, err }));
    stream.on("end", () => resolve({ replies, err: undefined }));
  });
}

// Every behaviour is checked on a real grpc-js server over a Unix socket and through the
// in-process channel: what a client sees must be the same either way.
for (const mode of ["grpc", "in-process"] as const) {
  describe(`a grpc-js client calling ${mode}`, () => {
    const dir = tempDir("inproc-");
    const seen: Seen = { aborted: 0, produced: 0, metadata: undefined };
    let server: Server | undefined;
    let client: Client;

    before(async () => {
      const binding = echoService(seen);
      if (mode === "in-process") {
        client = new Client("in-process", credentials.createInsecure(), { channelOverride: new InProcessChannel([binding], logger) });
        return;
      }
      const grpcServer = new Server();
      server = grpcServer;
      grpcServer.addService(binding.definition, binding.implementation);
      const address = `unix:${join(dir.path, "echo.sock")}`;
      await new Promise<void>((resolve, reject) => grpcServer.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
      client = new Client(address, credentials.createInsecure());
    });

    after(async () => {
      client.close();
      if (server) await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
      dir.remove();
    });

    it("answers a unary call with its headers first, and passes the request's metadata", async () => {
      const metadata = new Metadata();
      metadata.set("x-asked", "please");
      const answer = await new Promise<Answer>((resolve) => {
        let headers: Metadata | undefined;
        const call = client.makeUnaryRequest(EchoService.say.path, identity, identity, text("hi"), metadata, {}, (err, reply) => resolve({ err, reply, headers }));
        call.on("metadata", (md: Metadata) => (headers = md));
      });
      assert.equal(answer.err, null);
      assert.equal(answer.reply?.toString(), "said hi");
      assert.deepEqual(answer.headers?.get("x-said"), ["yes"]);
      assert.deepEqual(seen.metadata?.get("x-asked"), ["please"]);
    });

    it("fails with the handler's status and ErrorInfo reason, and no headers before it", async () => {
      const answer = await callUnary(client, "fail", "");
      assert.equal(answer.err?.code, GrpcStatus.NOT_FOUND);
      assert.equal(answer.err.details, "nothing to echo");
      assert.equal(reasonOf(answer.err), "no_echo");
      assert.equal(answer.headers, undefined, "a failure before any response is trailers-only");
    });

    it("answers UNIMPLEMENTED for a method without a handler, and for one the server does not have", async () => {
      const unbound = await callUnary(client, "missing", "");
      assert.equal(unbound.err?.code, GrpcStatus.UNIMPLEMENTED);
      assert.equal(reasonOf(unbound.err), "unimplemented");
      const unknown = await new Promise<ServiceError | null>((resolve) =>
        client.makeUnaryRequest("/ghostd.test.v1.Echo/Nothing", identity, identity, text(""), (err) => resolve(err)),
      );
      assert.equal(unknown?.code, GrpcStatus.UNIMPLEMENTED);
    });

    it("fails with DEADLINE_EXCEEDED when the deadline passes, and tells the handler", async () => {
      const before = seen.aborted;
      const answer = await callUnary(client, "wait", "", { deadline: new Date(Date.now() + 100) });
      assert.equal(answer.err?.code, GrpcStatus.DEADLINE_EXCEEDED);
      await waitFor("the handler to be aborted", () => seen.aborted > before);
    });

    it("streams responses in order and ends the stream", async () => {
      const { replies, err } = await collect(client.makeServerStreamRequest(EchoService.count.path, identity, identity, text("5")));
      assert.equal(err, undefined);
      assert.deepEqual(replies, ["1", "2", "3", "4", "5"]);
    });

    // Only in-process: grpc-js's client reads HTTP/2 ahead of a paused stream without bound (a
    // paused reader took all 640 MiB), so there the source is never held back.
    if (mode === "in-process") it("holds a stream's source back while its reader is paused", async () => {
      const stream = client.makeServerStreamRequest(EchoService.count.path, identity, identity, text("10000:65536"));
      stream.pause();
      // The source writes ahead only as far as flow control lets it: a few MiB, not 640 MiB.
      const produced = await waitFor("the source to stop producing", async () => {
        const before = seen.produced;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return before > 0 && seen.produced === before && before;
      });
      assert.ok(produced < 100, `the source ran ${produced} responses of 64 KiB ahead of a paused reader`);
      const before = seen.aborted;
      stream.on("error", () => undefined);
      stream.cancel();
      await waitFor("the source to see the cancel", () => seen.aborted > before);
    });

    it("ends a cancelled stream with CANCELLED", async () => {
      const stream = client.makeServerStreamRequest(EchoService.count.path, identity, identity, text("100000"));
      const outcome = collect(stream);
      stream.once("data", () => stream.cancel());
      const { err } = await outcome;
      assert.equal(err?.code, GrpcStatus.CANCELLED);
    });

    it("takes a client stream's requests in order and answers once it half-closes", async () => {
      const answer = await new Promise<{ err: ServiceError | null; reply: Buffer | undefined }>((resolve) => {
        const call = client.makeClientStreamRequest(EchoService.join.path, identity, identity, (err, reply) => resolve({ err, reply }));
        for (const part of ["a", "b", "c"]) call.write(text(part));
        call.end();
      });
      assert.equal(answer.err, null);
      assert.equal(answer.reply?.toString(), "a+b+c");
    });

    it("takes a megabyte of requests written all at once, past the flow-control window", async () => {
      const parts = Array.from({ length: 64 }, (_, i) => String(i % 10).repeat(16 * 1024));
      const answer = await new Promise<{ err: ServiceError | null; reply: Buffer | undefined }>((resolve) => {
        const call = client.makeClientStreamRequest(EchoService.join.path, identity, identity, (err, reply) => resolve({ err, reply }));
        for (const part of parts) call.write(text(part));
        call.end();
      });
      assert.equal(answer.err, null);
      assert.equal(answer.reply?.toString(), parts.join("+"));
    });

    it("answers each request of a bidirectional call, and goes on after the client half-closes", async () => {
      const call = client.makeBidiStreamRequest(EchoService.echo.path, identity, identity);
      const outcome = collect(call);
      call.write(text("one"));
      call.write(text("two"));
      call.end();
      const { replies, err } = await outcome;
      assert.equal(err, undefined);
      assert.deepEqual(replies, ["echo one", "echo two", "bye"]);
    });
  });
}
