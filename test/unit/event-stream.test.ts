import assert from "node:assert/strict";
import { eventStream, flatten, type EventSink } from "../../server/event-stream";

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
    const iterator = eventStream(new AbortController().signal, src.subscribe)[Symbol.asyncIterator]();
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
    const iterator = eventStream(new AbortController().signal, src.subscribe)[Symbol.asyncIterator]();
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
    const iterator = eventStream(new AbortController().signal, src.subscribe)[Symbol.asyncIterator]();
    void src.sink().push(1);
    src.sink().fail(new Error("source broke"));
    assert.deepEqual(await iterator.next(), { done: false, value: [1] });
    await assert.rejects(iterator.next(), /source broke/);
    assert.equal(src.subscribed(), false);
  });

  it("ends quietly and unsubscribes when the signal aborts, even with a reader waiting", async () => {
    const src = source<number>();
    const controller = new AbortController();
    const iterator = eventStream(controller.signal, src.subscribe)[Symbol.asyncIterator]();
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
    const stream = eventStream(new AbortController().signal, src.subscribe);
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

  it("flattens batches into items", async () => {
    const src = source<number>();
    const stream = eventStream<number>(new AbortController().signal, (sink) => {
      const off = src.subscribe(sink);
      void sink.push(1);
      void sink.push(2);
      sink.end();
      return off;
    });
    const items: number[] = [];
    for await (const item of flatten(stream)) items.push(item);
    assert.deepEqual(items, [1, 2]);
  });
});
