/**
 * The process that holds a project's network namespace and publishes its ports: ghostd passes it
 * each host listener (a TCP server or UDP socket bound on the host's 127.0.0.1) over the IPC
 * channel, and it forwards what arrives to the same port on the project's own loopback. It runs
 * as the services' user, reads its program from stdin (so that user needs no access to ghostd's
 * files), imports nothing but Node's own modules, and ends when ghostd does.
 */
import { execFileSync } from "node:child_process";
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { connect, type Server, type Socket } from "node:net";

interface Publish {
  readonly publish: number;
  readonly protocol: "tcp" | "udp";
}

const UDP_IDLE_MS = 60_000;

/** A fresh namespace's loopback is down; a joined one is up already (and this process may not touch it). */
function bringUpLoopback(): void {
  const ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((path) => existsSync(path));
  if (!ip) throw new Error("ip (Debian package iproute2) is needed to bring up a project's loopback");
  execFileSync(ip, ["link", "set", "lo", "up"], { stdio: "ignore" });
}

function forwardTcp(server: Server, port: number): void {
  server.on("connection", (client: Socket) => {
    const upstream = connect({ host: "127.0.0.1", port });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.once("error", end).once("close", end);
    client.pipe(upstream).pipe(client);
  });
}

/** Each host client gets its own socket in the namespace, so replies find their way back; idle ones go. */
function forwardUdp(host: UdpSocket, port: number): void {
  const peers = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  const peerOf = (client: RemoteInfo): UdpSocket => {
    const key = `${client.address}:${client.port}`;
    const known = peers.get(key);
    if (known) {
      known.timer.refresh();
      return known.socket;
    }
    const socket = createSocket("udp4");
    socket.on("message", (reply) => host.send(reply, client.port, client.address));
    socket.on("error", () => socket.close());
    const timer = setTimeout(() => {
      peers.delete(key);
      socket.close();
    }, UDP_IDLE_MS);
    peers.set(key, { socket, timer });
    return socket;
  };
  host.on("message", (message, client) => peerOf(client).send(message, port, "127.0.0.1"));
}

function main(): void {
  if (process.argv.includes("--new")) bringUpLoopback();
  process.on("message", (message: Publish, handle: unknown) => {
    if (message.protocol === "udp") forwardUdp(handle as UdpSocket, message.publish);
    else forwardTcp(handle as Server, message.publish);
  });
  process.on("disconnect", () => process.exit(0));
  process.send?.({ ready: process.pid });
}

if (process.env.GHOSTD_POD_HOLDER === "1") {
  try {
    main();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
