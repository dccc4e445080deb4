import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { EnsureProjectRequest, OpenProjectRequest, StartProjectRequest, StopProjectRequest, type StartProjectResponse, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { closeServer } from "../helpers/ports";
import { composeManifest, followLogs, supervisorClient, unary, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";

const PROBE = readFileSync(join(packageRoot, "test", "fixtures", "sandbox", "probe.py"), "utf8");

/** An address of this machine that is not loopback: where egress, when allowed, reaches the host. */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
}

function listenOn(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once("error", reject);
    server.listen(0, host, () => resolve(server));
  });
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

/**
 * What a service cannot do however it tries: every attack of the security review, run from inside
 * a real service of a real daemon (as root here, so services run as ghostd's dedicated uid).
 */
describe("security: the service sandbox", function () {
  this.timeout(90_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let work: ReturnType<typeof tempDir>;
  const servers: Server[] = [];

  before(async function () {
    requireTools(this, [program("bwrap", "bubblewrap"), program("python3", "python3"), program("slirp4netns", "slirp4netns"), program("ip", "iproute2")]);
    work = tempDir("ghostd-sec-sandbox-");
    daemon = await spawnDaemon({ args: ["--port-range", "46700-46749", "--log-level", "warn"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
  });

  after(async () => {
    for (const server of servers) await closeServer(server);
    // before() may have skipped itself on a developer's machine before making any of them.
    const made = client as SupervisorClient | undefined;
    made?.close();
    await (daemon as DaemonProcess | undefined)?.stop();
    (daemon as DaemonProcess | undefined)?.cleanup();
    (work as ReturnType<typeof tempDir> | undefined)?.remove();
  });

  /** Runs the probe beside a peer service and returns what it found, `name` to `yes`/`no`. */
  async function probe(id: string, egress: boolean): Promise<Map<string, string>> {
    const hostListener = await listenOn("127.0.0.1");
    const outside = outsideAddress() ?? "192.0.2.1";
    const egressListener = await listenOn(outsideAddress() ?? "127.0.0.1");
    servers.push(hostListener, egressListener);
    const pkg = join(work.path, `pkg-${id}`);
    const environment = {
      PROBE_PACKAGE: pkg,
      PROBE_HOME: daemon.home,
      PROBE_SOCKET: daemon.endpoints.grpc?.replace(/^unix:/, "") ?? "",
      PROBE_HOST_PORT: String(portOf(hostListener)),
      PROBE_HTTP_PORT: (daemon.endpoints.http ?? "").split(":").pop() ?? "",
      PROBE_EGRESS_HOST: outside,
      PROBE_EGRESS_PORT: String(portOf(egressListener)),
    };
    const compose = {
      services: {
        peer: { command: ["python3", "-m", "http.server", "--bind", "127.0.0.1", "${PORT}"], ports: ["80"] },
        probe: { command: ["python3", "probe.py"], environment, depends_on: ["peer"] },
      },
    };
    writePackage(pkg, { "vibe.yaml": composeManifest(`dev.test.${id}`, [], egress ? "security:\n  network: true\n" : ""), "compose.yaml": JSON.stringify(compose), "probe.py": PROBE });
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: id, appId: `dev.test.${id}`, packagePath: pkg, statePath: join(work.path, `state-${id}`) }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId: id }), cb));
    const started = await unary<StartProjectResponse>((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: id }), cb));
    const entries = await followLogs(client, { projectId: id, serviceName: "probe" }, (all) => all.some((e) => e.line === "done=1"));
    const found = new Map(entries.flatMap((e) => (/^\w+=/.test(e.line) ? [[e.line.slice(0, e.line.indexOf("=")), e.line.slice(e.line.indexOf("=") + 1)] as [string, string]] : [])));
    found.set("published_port", String(started.ports[0]?.hostPort ?? 0));
    return found;
  }

  async function stop(id: string): Promise<void> {
    await unary((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId: id, timeoutSeconds: 5 }), cb));
  }

  it("runs services unprivileged: no capabilities, no_new_privs, a seccomp filter, no user namespaces", async () => {
    const found = await probe("caps", false);
    try {
      assert.notEqual(found.get("uid"), "0", "never root");
      if (process.getuid?.() === 0) assert.equal(found.get("uid"), "65532", "a root daemon's services run as the dedicated uid");
      assert.equal(found.get("capeff"), "0000000000000000");
      assert.equal(found.get("capprm"), "0000000000000000");
      assert.equal(found.get("capbnd"), "0000000000000000");
      assert.equal(found.get("nonewprivs"), "1");
      assert.equal(found.get("seccomp"), "2", "a seccomp filter is in force");
      assert.equal(found.get("user_namespace"), "no");
    } finally {
      await stop("caps");
    }
  });

  it("shows only the package (read-only), never /root, /run, ghostd's home or sockets", async () => {
    const found = await probe("files", false);
    try {
      for (const escape of ["write_package", "remount_package", "list_root", "list_run", "see_home", "see_grpc_socket"]) assert.equal(found.get(escape), "no", `${escape}: ${found.get(`${escape}_why`) ?? ""} ${found.get(`entries_of_${escape.slice(5)}`) ?? ""}`);
      assert.equal(existsSync(join(work.path, "pkg-files", "escaped")), false, "nothing written to the host");
    } finally {
      await stop("files");
    }
  });

  it("keeps services off the host's loopback (ghostd's HTTP API included) and the outside, but lets them reach each other by name", async () => {
    const found = await probe("net", false);
    try {
      assert.equal(found.get("host_loopback"), "no");
      assert.equal(found.get("terminal_api"), "no", "a service cannot drive ghostd's Terminal API");
      assert.equal(found.get("egress"), "no", "no egress without security.network: true");
      assert.equal(found.get("peer_by_name"), "yes", found.get("peer_by_name_why"));
      const port = Number(found.get("published_port"));
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(answer.status, 200, "the host reaches a service through its published port");
    } finally {
      await stop("net");
    }
  });

  it("publishes UDP ports into the project as well as TCP ones", async () => {
    const echo = "import socket, os\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', int(os.environ['PORT'])))\nprint('ready', flush=True)\nwhile True:\n    data, peer = s.recvfrom(2048)\n    s.sendto(b'echo:' + data, peer)\n";
    const pkg = join(work.path, "pkg-udp");
    writePackage(pkg, { "vibe.yaml": composeManifest("dev.test.udp"), "compose.yaml": JSON.stringify({ services: { echo: { command: ["python3", "echo.py"], ports: ["53/udp"] } } }), "echo.py": echo });
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: "udp", appId: "dev.test.udp", packagePath: pkg, statePath: join(work.path, "state-udp") }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId: "udp" }), cb));
    const started = await unary<StartProjectResponse>((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: "udp" }), cb));
    try {
      await followLogs(client, { projectId: "udp", serviceName: "echo" }, (all) => all.some((e) => e.line === "ready"));
      const port = started.ports[0]?.hostPort ?? 0;
      const socket = createSocket("udp4");
      try {
        const reply = await new Promise<string>((resolve, reject) => {
          socket.once("message", (message) => resolve(message.toString()));
          socket.once("error", reject);
          socket.send("ping", port, "127.0.0.1");
        });
        assert.equal(reply, "echo:ping");
      } finally {
        socket.close();
      }
    } finally {
      await stop("udp");
    }
  });

  it("gives egress only with security.network: true, and even then not the host's loopback", async function () {
    if (!outsideAddress()) {
      if (process.env.CI === "true") throw new Error("this machine has no non-loopback IPv4 address to test egress against");
      this.skip();
    }
    const found = await probe("egress", true);
    try {
      assert.equal(found.get("egress"), "yes", found.get("egress_why"));
      assert.equal(found.get("host_loopback"), "no");
      assert.equal(found.get("terminal_api"), "no");
    } finally {
      await stop("egress");
    }
  });
});
