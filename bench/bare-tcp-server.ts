import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// The keep-alive anchor: a bare Node http server on 127.0.0.1 answering one fixed JSON body on
// kept-alive connections, as the Terminal API answers a list. Prints its port once listening.
// Usage: bare-tcp-server <json>
const [body] = process.argv.slice(2);
if (body === undefined) throw new Error("usage: bare-tcp-server <json>");
const server = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
