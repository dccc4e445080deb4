import assert from "node:assert/strict";
import { eventStream, flatten, type EventSink, type QueueBound } from "../../server/event-stream";

/** More than any test here queues. */
const ROOMY: QueueBound<unknown> = { max: 100, overflow: "drop" };

/** A subscription under the test's control, recording whether it is still subscribed. */
function source<T>(): { subscribe: (sink: EventSink<T>) => () => void; sink: () => EventSink<T>; subscribed: () => boolean } {
  let current: EventSink<T> | undefined;
  let active = false;
  return {
    subscribe(sink) {
      current = sink;
      active = true;
      return () => (active = false);
    },
    sink() {
      if (!current) throw new Error("not subscribed yet");
      return current;
    },
    subscribed: () => active,
  };
}

describe("eventStream", () => {
  it("yields what was pushed while the reader was away as one batch, in order", async () => {
    const src = source<number>();
    const iterator = eventStream(new AbortController().signal, src.subscribe, ROOMY)[Symbol.asyncIterator]();
    const first = iterator.next();
    void src.sink().push(1);
    assert.deepEqual(await first, { done: false, value: [1] });
    void src.sink().push(2);
    void src.sink().push(3);
    assert.deepEqual(await iterator.next(), { done: false, value: [2, 3] });
    src.sink().end();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(src.subscribed(), false);
  });

  it("resolves a push only when the reader comes back for more", async () => {
    const src = source<string>();
    const iterator = eventStream(new AbortController().signal, src.subscribe, ROOMY)[Symbol.asyncIterator]();
    let taken = false;
    void src
      .sink()
      .push("a")
      .then(() => (taken = true));
    assert.deepEqual(await iterator.next(), { done: false, value: ["a"] });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(taken, false, "the reader holds the batch: its producer waits");
    const next = iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(taken, true);
    src.sink().end();
    assert.equal((await next).done, true);
  });

  it("delivers what was queued before a failure, then the failure", async () => {
    const src = source<number>();
    const iterator = eventStream(new AbortController().signal, src.subscribe, ROOMY)[Symbol.asyncIterator]();
    void src.sink().push(1);
    src.sink().fail(new Error("source broke"));
    assert.deepEqual(await iterator.next(), { done: false, value: [1] });
    await assert.rejects(iterator.next(), /source broke/);
    assert.equal(src.subscribed(), false);
  });

  it("ends quietly and unsubscribes when the signal aborts, even with a reader waiting", async () => {
    const src = source<number>();
    const controller = new AbortController();
    const iterator = eventStream(controller.signal, src.subscribe, ROOMY)[Symbol.asyncIterator]();
    const waiting = iterator.next();
    controller.abort();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(src.subscribed(), false);
    await src.sink().push(5);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  it("unsubscribes and releases producers when the reader leaves early", async () => {
    const src = source<number>();
    const batches: number[][] = [];
    const stream = eventStream(new AbortController().signal, src.subscribe, ROOMY);
    const pushed = (async () => {
      await Promise.resolve();
      await src.sink().push(1);
      await src.sink().push(2);
    })();
    for await (const batch of stream) {
      batches.push(batch);
      break;
    }
    await pushed;
    assert.deepEqual(batches, [[1]]);
    assert.equal(src.subscribed(), false);
  });

  it("drops a push past a drop bound while the reader is away, and takes pushes again once it has read", async () => {
    const src = source<string>();
    const iterator = eventStream(new AbortController().signal, src.subscribe, { max: 1, overflow: "drop" })[Symbol.asyncIterator]();
    void src.sink().push("changed");
    await src.sink().push("changed again");
    assert.deepEqual(await iterator.next(), { done: false, value: ["changed"] });
    void src.sink().push("later");
    assert.deepEqual(await iterator.next(), { done: false, value: ["later"] });
    assert.equal(src.subscribed(), true);
  });

  it("ends the stream with the bound's error past it, by weight, letting go of the queue and its producers", async () => {
    const src = source<string>();
    const bound: QueueBound<string> = { max: 10, weigh: (text) => text.length, overflow: () => new Error("reader fell behind") };
    const iterator = eventStream(new AbortController().signal, src.subscribe, bound)[Symbol.asyncIterator]();
    const first = src.sink().push("123456");
    await src.sink().push("7890ab");
    await first;
    assert.equal(src.subscribed(), false, "the source is stopped at once");
    await assert.rejects(iterator.next(), /reader fell behind/);
  });

  it("takes one item heavier than the bound when nothing is queued", async () => {
    const src = source<string>();
    const iterator = eventStream(new AbortController().signal, src.subscribe, { max: 2, weigh: (text: string) => text.length, overflow: () => new Error("never") })[Symbol.asyncIterator]();
    void src.sink().push("a long line");
    assert.deepEqual(await iterator.next(), { done: false, value: ["a long line"] });
  });

  it("flattens batches into items", async () => {
    const src = source<number>();
    const stream = eventStream<number>(new AbortController().signal, (sink) => {
      const off = src.subscribe(sink);
      void sink.push(1);
      void sink.push(2);
      sink.end();
      return off;
    }, ROOMY);
    const items: number[] = [];
    for await (const item of flatten(stream)) items.push(item);
    assert.deepEqual(items, [1, 2]);
  });
});
