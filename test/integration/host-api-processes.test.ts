import assert from "node:assert/strict";
import { agentDaemon } from "../helpers/agent-daemon";
import { ndjson } from "../helpers/http";
import { waitFor } from "../helpers/wait";
import { unixUrl, WsSession } from "../helpers/websocket";

type Result = Record<string, unknown>;

const TICKER = "import itertools, time\nfor i in itertools.count():\n    print('tick', i, flush=True)\n    time.sleep(0.02)";
const ECHOER = "import sys\nfor line in sys.stdin:\n    print('echo:' + line.strip(), flush=True)";

/** The events a connection has received so far, with output decoded. */
function events(session: WsSession): Result[] {
  return session.texts.map((t) => t.result as Result);
}

function decoded(session: WsSession, kind: "stdout" | "stderr" | "pty"): string {
  return events(session)
    .map((e) => (typeof e[kind] === "string" ? Buffer.from(e[kind], "base64").toString() : ""))
    .join("");
}

function ticks(text: string): number[] {
  return [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}

describe("Host API background processes", function () {
  this.timeout(60_000);
  const agent = agentDaemon("ghostd-proc-home-");
  const connect = (process: string, replay = false): Promise<WsSession> => WsSession.open(unixUrl(agent.api.socketPath, `/api/v1/processes/${process}/output${replay ? "?replay=true" : ""}`));

  it("keeps a tagged process across disconnects: list it, reconnect for new output or a replay, SIGTERM it and read its end", async () => {
    const started = await agent.api.send("POST", "/api/v1/processes", { command: "python3", args: ["-u", "-c", TICKER], tag: "ticker" });
    assert.equal(started.status, 200, started.text);
    const { process } = started.json<{ process: { pid: number; tag: string; running: boolean } }>();
    assert.equal(process.tag, "ticker");
    assert.ok(process.running);

    const first = await connect("ticker");
    await waitFor("a few ticks", () => ticks(decoded(first, "stdout")).length >= 3);
    assert.deepEqual(events(first)[0], { start: { pid: process.pid } });
    first.ws.close();
    await first.waitForClose();
    const lastSeen = Math.max(...ticks(decoded(first, "stdout")));

    const listed = (await agent.api.get("/api/v1/processes")).json<{ processes: { tag: string; running: boolean; pid: number }[] }>().processes;
    assert.ok(listed.some((p) => p.tag === "ticker" && p.running && p.pid === process.pid), "still running after the client left");

    const again = await connect(String(process.pid));
    await waitFor("new ticks", () => ticks(decoded(again, "stdout")).length >= 2);
    assert.ok(Math.min(...ticks(decoded(again, "stdout"))) > lastSeen, "only output from the reconnect on");
    const replayed = await connect("ticker", true);
    await waitFor("replayed ticks", () => ticks(decoded(replayed, "stdout")).length > 0);
    assert.equal(ticks(decoded(replayed, "stdout"))[0], 0, "a replay starts from the kept history");
    replayed.ws.close();

    assert.deepEqual((await agent.api.send("POST", "/api/v1/processes/ticker/signal", { signal: "SIGTERM" })).json(), { ok: true });
    await again.waitForClose();
    assert.deepEqual(events(again).at(-1), { end: { exitCode: 143, signal: "SIGTERM" } });
    const after = (await agent.api.get("/api/v1/processes")).json<{ processes: { pid: number; running: boolean; exitCode?: number }[] }>().processes;
    assert.deepEqual(after.find((p) => p.pid === process.pid)?.exitCode, 143);
    const late = ndjson(await agent.api.get(`/api/v1/processes/${process.pid}/output`));
    assert.deepEqual(late.at(-1), { result: { end: { exitCode: 143, signal: "SIGTERM" } } }, "an exited process still tells how it ended, over NDJSON");
  });

  it("takes input in order, and closing stdin ends a reader with exit 0", async () => {
    await agent.api.send("POST", "/api/v1/processes", { command: "python3", args: ["-u", "-c", ECHOER], tag: "echoer" });
    const session = await connect("echoer");
    for (const word of ["one", "two", "three"]) {
      assert.equal((await agent.api.send("POST", "/api/v1/processes/echoer/input", Buffer.from(`${word}\n`))).status, 200);
    }
    await waitFor("three echoes", () => decoded(session, "stdout") === "echo:one\necho:two\necho:three\n");
    assert.deepEqual((await agent.api.send("POST", "/api/v1/processes/echoer/close-stdin")).json(), { ok: true });
    await session.waitForClose();
    assert.deepEqual(events(session).at(-1), { end: { exitCode: 0 } });
  });

  it("runs a process on a PTY and resizes it: stty size changes", async () => {
    const started = await agent.api.send("POST", "/api/v1/processes", { command: "sh", args: ["-c", "stty size; read x; stty size"], tag: "sizer", pty: { cols: 80, rows: 24 } });
    assert.equal(started.status, 200, started.text);
    const session = await connect("sizer", true);
    await waitFor("the first size", () => decoded(session, "pty").includes("24 80"));
    assert.deepEqual((await agent.api.send("POST", "/api/v1/processes/sizer/resize", { cols: 100, rows: 30 })).json(), { ok: true });
    await agent.api.send("POST", "/api/v1/processes/sizer/input", Buffer.from("\n"));
    await session.waitForClose();
    assert.match(decoded(session, "pty"), /24 80\r\n[^]*30 100\r\n/);
  });

  it("answers unknown processes 404, an all-digit tag and a bad signal 400", async () => {
    const missing = await agent.api.send("POST", "/api/v1/processes/nobody/signal", { signal: "SIGTERM" });
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ code: string }>().code, "process_not_found");
    const digits = await agent.api.send("POST", "/api/v1/processes", { command: "true", tag: "123" });
    assert.equal(digits.status, 400);
    const badSignal = await agent.api.send("POST", "/api/v1/processes/1/signal", { signal: "SIGBOGUS" });
    assert.equal(badSignal.status, 400);
    assert.equal((await agent.api.get("/api/v1/processes/nobody/output")).status, 404);
  });
});
