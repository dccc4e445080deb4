import { createServer } from "node:http";
import { rmSync } from "node:fs";

// The anchor: a bare Node http server on a Unix socket answering one fixed JSON body with
// Connection: close, as the Host API does. Usage: bare-server <socket> <json>
const [socketPath, body] = process.argv.slice(2);
if (!socketPath || body === undefined) throw new Error("usage: bare-server <socket> <json>");
rmSync(socketPath, { force: true });
const server = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close" });
  res.end(body);
});
server.maxRequestsPerSocket = 1;
server.listen(socketPath, () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
