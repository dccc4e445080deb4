import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { endianness } from "node:os";
import { judgePeer } from "../../server/peer-credentials";
import { SocketOwners, type SocketTables } from "../../server/socket-owners";
import { canonicalAddress, clientRow, isLoopbackAddress, ownerAmong, parseSocketTable, type TcpEnds } from "../../server/socket-table";
import { requireTools } from "../helpers/tools";

const HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const row = (local: string, remote: string, state: string, uid: number): string => `   0: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000 ${uid} 0 1 1 0000000000000000 20 4 30 10 -1`;

// 127.0.0.1 in the kernel's (x86, little-endian) spelling; ports 40000 (9C40) and 19999 (4E1F).
const LOOPBACK_V4 = "0100007F";
const LOOPBACK_V6 = "00000000000000000000000001000000";
const MAPPED_V4 = "0000000000000000FFFF00000100007F";

const V4_TABLE = [
  HEADER,
  row(`${LOOPBACK_V4}:4E1F`, "00000000:0000", "0A", 1000), // the listener
  row(`${LOOPBACK_V4}:4E1F`, `${LOOPBACK_V4}:9C40`, "01", 1000), // the server's end
  row(`${LOOPBACK_V4}:9C40`, `${LOOPBACK_V4}:4E1F`, "01", 1001), // the client's end
  row(`${LOOPBACK_V4}:9C41`, `${LOOPBACK_V4}:4E1F`, "06", 0), // a closed one, in TIME_WAIT
].join("\n");

const V6_TABLE = [HEADER, row(`${LOOPBACK_V6}:9C42`, `${LOOPBACK_V6}:4E1F`, "01", 1002), row(`${MAPPED_V4}:9C43`, `${MAPPED_V4}:4E1F`, "01", 1003)].join("\n");

/** Tables as judgePeer reads them, a line at a time so that a match in the middle stops the read. */
function tablesOf(v4: string, v6 = ""): { read: SocketOwners; linesRead: () => number; scans: () => number } {
  let count = 0;
  let scans = 0;
  const tables: SocketTables = async function* (table) {
    scans++;
    for (const line of (table === "tcp" ? v4 : v6).split("\n")) {
      count++;
      // As a file read would, each batch comes in a later turn.
      await new Promise((resolve) => setImmediate(resolve));
      yield [line];
    }
  };
  return { read: new SocketOwners(tables), linesRead: () => count, scans: () => scans };
}

const socketOwner = (tables: readonly string[], at: TcpEnds): number | undefined => {
  const wanted = clientRow(at);
  return wanted && tables.map((table) => ownerAmong(table.split("\n"), wanted)).find((owner) => owner !== undefined);
};

const ends = (remotePort: number, address = "127.0.0.1") => ({ localAddress: address, localPort: 19999, remoteAddress: address, remotePort });

describe("peer credentials from the kernel's socket table", () => {
  before(function () {
    // The fixture tables hold addresses as a little-endian kernel writes them.
    requireTools(this, [{ what: "a little-endian CPU", present: endianness() === "LE", provider: "a little-endian machine" }]);
  });

  it("reads addresses, ports, states and owners from /proc/net/tcp and tcp6 rows", () => {
    const [listener] = parseSocketTable(V4_TABLE);
    assert.deepEqual(listener, { local: "[::ffff:7f00:1]", localPort: 19999, remote: "[::ffff:0:0]", remotePort: 0, state: 10, uid: 1000 });
    assert.deepEqual(parseSocketTable(V6_TABLE).map((r) => [r.local, r.uid]), [["[::1]", 1002], ["[::ffff:7f00:1]", 1003]]);
  });

  it("finds the client's own socket, not the server's end of the connection", () => {
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], ends(40000)), 1001);
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], ends(40002, "::1")), 1002);
    // A dual-stack server sees an IPv4 client as ::ffff:127.0.0.1.
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], ends(40000, "::ffff:127.0.0.1")), 1001);
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], ends(40003, "::ffff:127.0.0.1")), 1003);
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], ends(40001)), undefined, "TIME_WAIT rows say uid 0 for no one");
    assert.equal(socketOwner([V4_TABLE, V6_TABLE], { remoteAddress: "127.0.0.1" }), undefined);
  });

  it("serves the daemon's user and root, refuses others and unknown loopback peers, and serves remote ones", async () => {
    const tables = tablesOf(V4_TABLE, V6_TABLE).read;
    assert.deepEqual(await judgePeer({ uid: 1001, allowRoot: true }, ends(40000), tables), { allowed: true });
    const other = await judgePeer({ uid: 1000, allowRoot: true }, ends(40000), tables);
    assert.deepEqual(other, { allowed: false, message: "this API serves only uid 1000 (the daemon's user) and root; the client runs as uid 1001" });
    assert.equal((await judgePeer({ uid: 1000, allowRoot: true }, ends(40009), tables)).allowed, false, "a loopback peer with no row");
    assert.equal((await judgePeer({ uid: 1000, allowRoot: true }, ends(40009, "10.0.0.9"), tables)).allowed, true, "a peer on another machine");
    assert.equal((await judgePeer({ uid: 1001, allowRoot: true }, {}, tables)).allowed, false, "a connection already gone has no address to look up");
    const rootTable = tablesOf([HEADER, row(`${LOOPBACK_V4}:9C40`, `${LOOPBACK_V4}:4E1F`, "01", 0)].join("\n")).read;
    assert.equal((await judgePeer({ uid: 1000, allowRoot: true }, ends(40000), rootTable)).allowed, true);
    assert.equal((await judgePeer({ uid: 1000, allowRoot: false }, ends(40000), rootTable)).allowed, false);
  });

  it("reads no further than the client's row, and only the tables its address family can be in", async () => {
    const v4 = tablesOf(V4_TABLE, V6_TABLE);
    assert.deepEqual(await judgePeer({ uid: 1001, allowRoot: false }, ends(40000), v4.read), { allowed: true });
    assert.equal(v4.linesRead(), 4, "the header, the listener, the server's end and the client's row");
    const v6 = tablesOf(V4_TABLE, V6_TABLE);
    assert.deepEqual(await judgePeer({ uid: 1002, allowRoot: false }, ends(40002, "::1"), v6.read), { allowed: true });
    assert.equal(v6.linesRead(), 2, "an IPv6 client is never looked for in the IPv4 table");
    const mapped = tablesOf(V4_TABLE, V6_TABLE);
    assert.deepEqual(await judgePeer({ uid: 1003, allowRoot: false }, ends(40003, "::ffff:127.0.0.1"), mapped.read), { allowed: true });
    assert.equal(mapped.linesRead(), 5 + 3, "a mapped address is looked for in both");
  });

  it("answers the lookups made together from one scan", async () => {
    const tables = tablesOf(V4_TABLE);
    const together = [40000, 40009].map((port) => tables.read.owner(ends(port)));
    assert.deepEqual(await Promise.all(together), [1001, undefined]);
    assert.equal(tables.scans(), 2, "one scan of tcp, and of tcp6 for the one not found there");
  });

  it("never answers a lookup from a scan begun before it, and runs at most two scans at once", async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let scans = 0;
    const gated = new SocketOwners(async function* () {
      scans++;
      await gate;
      yield V4_TABLE.split("\n");
    });
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const first = gated.owner(ends(40000));
    await turn();
    const second = gated.owner(ends(40000));
    await turn();
    const third = [gated.owner(ends(40000)), gated.owner(ends(40009))];
    await turn();
    assert.equal(scans, 2, "two scans at once; the later lookups wait for one to end");
    release();
    assert.deepEqual(await Promise.all([first, second, ...third]), [1001, 1001, 1001, undefined]);
    assert.equal(scans, 4, "the waiting lookups share the next scan of tcp (and of tcp6 for the one not there)");
  });

  it("spells each address one way and knows loopback", () => {
    assert.equal(canonicalAddress("127.0.0.1"), canonicalAddress("::ffff:127.0.0.1"));
    assert.equal(canonicalAddress("0:0:0:0:0:0:0:1"), "[::1]");
    for (const address of ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.2"]) assert.ok(isLoopbackAddress(address), address);
    for (const address of ["10.0.0.1", "::2", "::ffff:10.0.0.1", "128.0.0.1"]) assert.ok(!isLoopbackAddress(address), address);
  });

  it("finds this process's own loopback connection in the real table", async function () {
    const uid = process.geteuid?.();
    requireTools(this, [{ what: "process.geteuid", present: uid !== undefined, provider: "a POSIX system" }]);
    if (uid === undefined) return;
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    const client = connect((server.address() as { port: number }).port, "127.0.0.1");
    const socket = await accepted;
    try {
      assert.deepEqual(await judgePeer({ uid, allowRoot: false }, socket), { allowed: true });
      assert.deepEqual(await judgePeer({ uid: uid + 1, allowRoot: false }, socket), { allowed: false, message: `this API serves only uid ${uid + 1} (the daemon's user); the client runs as uid ${uid}` });
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
    }
  });
});
