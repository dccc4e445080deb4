import { Server, ServerCredentials } from "@grpc/grpc-js";
import { readFileSync, rmSync } from "node:fs";
import { GetProjectStatusResponse, ListProjectsResponse, SupervisorService } from "../generated/ghostd/supervisor/v1/supervisor";

// The anchor: a bare grpc-js server answering ListProjects and GetProjectStatus with responses
// fixed in advance (the ones ghostd gave), so the difference is what ghostd does per call.
// Usage: bare-grpc-server <socket> <responses.json>
const [socketPath, file] = process.argv.slice(2);
if (!socketPath || !file) throw new Error("usage: bare-grpc-server <socket> <responses.json>");
const canned = JSON.parse(readFileSync(file, "utf8")) as { list: unknown; status: unknown };
const list = ListProjectsResponse.fromJSON(canned.list);
const status = GetProjectStatusResponse.fromJSON(canned.status);
rmSync(socketPath, { force: true });
const server = new Server();
server.addService(SupervisorService, {
  listProjects: (_call: unknown, callback: (err: null, reply: ListProjectsResponse) => void) => callback(null, list),
  getProjectStatus: (_call: unknown, callback: (err: null, reply: GetProjectStatusResponse) => void) => callback(null, status),
});
server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write("ready\n");
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
