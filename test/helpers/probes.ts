import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";

// Probes that run inside the Python test image (test/helpers/images.ts), for tests of networks.

const CONNECT = `
import socket, sys, time
start = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("connected in %.1f s" % (time.monotonic() - start))
except OSError as e:
    print("failed in %.1f s: %s" % (time.monotonic() - start, e))
    sys.exit(3)
`;

const FETCH = `
import sys, time, urllib.request
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as reply:
            print(reply.status, reply.read().decode())
            break
    except OSError as e:
        if time.monotonic() > deadline:
            print("gave up:", e)
            sys.exit(3)
        time.sleep(0.2)
`;

/**
 * A container command that connects once to host:port. It prints `connected in N s` and exits 0,
 * or prints `failed in N s: <reason>` and exits 3; the time tells a refusal from a timeout (5 s).
 */
export function connectCommand(host: string, port: number): string[] {
  return ["python3", "-c", CONNECT, host, String(port)];
}

/** The seconds a connectCommand took to fail, from its output; NaN when it did not fail. */
export function connectFailedAfter(stdout: string): number {
  return Number(/failed in ([\d.]+) s/.exec(stdout)?.[1]);
}

/**
 * A container command that GETs url until it answers (a server starting beside it), for at most
 * `seconds`; prints `<status> <body>` and exits 0, or prints why it gave up and exits 3.
 */
export function fetchCommand(url: string, seconds = 30): string[] {
  return ["python3", "-c", FETCH, url, String(seconds)];
}

/** This machine's address on its default route: one that a container on a bridge can route to. */
export function hostAddress(): string {
  const defaultRoute = readFileSync("/proc/net/route", "utf8")
    .split("\n")
    .map((line) => line.split("\t"))
    .find((fields) => fields[1] === "00000000");
  const address = defaultRoute && networkInterfaces()[defaultRoute[0] ?? ""]?.find((a) => a.family === "IPv4");
  if (address === undefined) throw new Error("this machine has no IPv4 default route for containers to reach it by");
  return address.address;
}
