import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { listeningPorts, parseListeningPorts } from "../../../server/agent/listening-ports";
import { tempDir } from "../../helpers/tmp";

// Rows as a Linux 6.1 kernel writes them (trailing columns cut): a listener on 0.0.0.0:8000, one
// on 127.0.0.1:5432, an established connection from 8000 and a TIME_WAIT one.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21412 1
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 19876 1
   2: 0100007F:1F40 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 31337 1
   3: 0100007F:9C4A 0100007F:1F40 06 00000000:00000000 03:00000F8C 00000000     0        0 0 3
`;
// [::]:8000 again, and [::1]:6379.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000
`;

describe("listening ports", () => {
  const dir = tempDir("ports-");
  after(() => dir.remove());

  it("reads the ports in LISTEN from a table, and nothing else", () => {
    assert.deepEqual(parseListeningPorts(TCP), [8000, 5432]);
    assert.deepEqual(parseListeningPorts(TCP6), [8000, 6379]);
    assert.deepEqual(parseListeningPorts(""), []);
    assert.deepEqual(parseListeningPorts("header only\n"), []);
  });

  it("merges tcp and tcp6, each port once and ascending; a missing tcp6 lists nothing", async () => {
    const net = join(dir.path, "net");
    mkdirSync(net);
    writeFileSync(join(net, "tcp"), TCP);
    assert.deepEqual(await listeningPorts(net), [5432, 8000]);
    writeFileSync(join(net, "tcp6"), TCP6);
    assert.deepEqual(await listeningPorts(net), [5432, 6379, 8000]);
  });

  it("sees a real listener come and go in this machine's tables", async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    assert.ok((await listeningPorts()).includes(port), `port ${port} is listening`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.ok(!(await listeningPorts()).includes(port), `port ${port} is closed`);
  });
});
