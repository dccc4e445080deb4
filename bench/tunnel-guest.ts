import { createServer } from "node:net";

// The "guest" side of bench/tunnel.ts, in a process of its own so it does not share the bench's
// event loop: on port A a sink that answers the byte count once the client ends; on port B a
// source that sends N MiB and ends. Prints {"sink": A, "source": B} when listening.

const MiB = 1024 * 1024;
const block = Buffer.alloc(MiB, 7);

const sink = createServer({ allowHalfOpen: true }, (socket) => {
  let bytes = 0;
  socket.on("data", (chunk: Buffer) => (bytes += chunk.length));
  socket.on("end", () => socket.end(String(bytes)));
});

const source = createServer((socket) => {
  socket.once("data", (request: Buffer) => {
    let left = Number(request.toString());
    const more = (): void => {
      while (left > 0) {
        left -= 1;
        if (!socket.write(block)) return void socket.once("drain", more);
      }
      socket.end();
    };
    more();
  });
});

sink.listen(0, "127.0.0.1", () => {
  source.listen(0, "127.0.0.1", () => {
    const port = (server: typeof sink): number => (server.address() as { port: number }).port;
    process.stdout.write(`${JSON.stringify({ sink: port(sink), source: port(source) })}\n`);
  });
});
