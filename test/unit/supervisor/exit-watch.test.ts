import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { ExitWatch } from "../../../server/supervisor/runtime/container/exits";
import { waitFor } from "../../helpers/wait";

interface FakeState {
  Running: boolean;
  Paused: boolean;
  ExitCode: number;
}

/** An engine as ExitWatch sees it: an event stream per subscription, and containers to inspect. */
class FakeEngine {
  readonly streams: PassThrough[] = [];
  readonly states = new Map<string, FakeState>();
  inspections = 0;

  get docker(): Docker {
    return fakeDocker(this);
  }

  die(id: string, code: number): void {
    this.states.set(id, { Running: false, Paused: false, ExitCode: code });
    this.streams.at(-1)?.write(`${JSON.stringify({ Type: "container", Action: "die", id, Actor: { ID: id } })}\n`);
  }
}

function fakeDocker(engine: FakeEngine): Docker {
  return {
    getEvents: () => {
      const stream = new PassThrough();
      engine.streams.push(stream);
      return Promise.resolve(stream);
    },
    getContainer: (id: string) => ({
      inspect: () => {
        engine.inspections++;
        const state = engine.states.get(id);
        return state ? Promise.resolve({ State: state }) : Promise.reject(Object.assign(new Error("no such container"), { statusCode: 404 }));
      },
    }),
  } as unknown as Docker;
}

const running = (): FakeState => ({ Running: true, Paused: false, ExitCode: 0 });

describe("container runtime: exits told by one event stream, never a wait per container", () => {
  it("settles each watch on its container's die event with the code the engine inspects", async () => {
    const engine = new FakeEngine();
    engine.states.set("a", running());
    engine.states.set("b", running());
    const watch = new ExitWatch(engine.docker);
    const a = watch.exited("a");
    const b = watch.exited("b");
    await waitFor("the stream", () => engine.streams.length === 1);
    engine.die("b", 3);
    assert.deepEqual(await b, { code: 3, signal: null });
    engine.die("a", 0);
    assert.deepEqual(await a, { code: 0, signal: null });
    assert.equal(engine.streams.length, 1, "one stream for every container");
  });

  it("tells an exit that came before the stream, and a container gone as killed", async () => {
    const engine = new FakeEngine();
    engine.states.set("early", { Running: false, Paused: false, ExitCode: 9 });
    const watch = new ExitWatch(engine.docker);
    assert.deepEqual(await watch.exited("early"), { code: 9, signal: null });
    assert.deepEqual(await watch.exited("gone"), { code: null, signal: "SIGKILL" });
  });

  it("does not take a paused container for an ended one", async () => {
    const engine = new FakeEngine();
    engine.states.set("p", { Running: false, Paused: true, ExitCode: 0 });
    const watch = new ExitWatch(engine.docker);
    let settled = false;
    const exit = watch.exited("p").then((e) => ((settled = true), e));
    await waitFor("the stream", () => engine.streams.length === 1);
    await waitFor("an inspection", () => engine.inspections >= 1);
    assert.equal(settled, false);
    engine.die("p", 137);
    assert.deepEqual(await exit, { code: 137, signal: null });
  });

  it("asks again when the engine's stream breaks, and hears the exit on the new stream", async () => {
    const engine = new FakeEngine();
    engine.states.set("c", running());
    const watch = new ExitWatch(engine.docker);
    const exit = watch.exited("c");
    await waitFor("the stream and a first look", () => engine.streams.length === 1 && engine.inspections >= 1);
    engine.streams[0]?.end();
    await waitFor("a second stream, after the first broke", () => engine.streams.length === 2);
    engine.die("c", 5);
    assert.deepEqual(await exit, { code: 5, signal: null });
  });

  it("finds an exit whose die event never came (an engine that answered before it tailed its events)", async () => {
    const engine = new FakeEngine();
    engine.states.set("q", running());
    const watch = new ExitWatch(engine.docker);
    const exit = watch.exited("q");
    await waitFor("the stream and a first look", () => engine.streams.length === 1 && engine.inspections >= 1);
    engine.states.set("q", { Running: false, Paused: false, ExitCode: 3 });
    assert.deepEqual(await exit, { code: 3, signal: null });
    assert.equal(engine.streams.length, 1, "the same stream: a later check found it");
  });

  it("closes its stream once nothing is watched", async () => {
    const engine = new FakeEngine();
    engine.states.set("d", running());
    const watch = new ExitWatch(engine.docker);
    const exit = watch.exited("d");
    await waitFor("the stream", () => engine.streams.length === 1);
    engine.die("d", 0);
    await exit;
    await waitFor("the stream to be closed", () => engine.streams[0]?.destroyed === true);
  });
});
