import assert from "node:assert/strict";
import type Docker from "dockerode";
import fc from "fast-check";
import { pulledDetail, repositoryOf, type PullEvent } from "../../../server/supervisor/runtime/container/images";
import { formatPullLine, formatSize, parsePullLine, parseSize, type PullLine } from "../../../server/supervisor/runtime/container/pull-lines";
import { PullNotes } from "../../../server/supervisor/runtime/container/pull-notes";

const IMAGE = "127.0.0.1:5000/app:1";

/** The lines PullNotes writes for these events, between a start and an end. */
function notesOf(events: readonly PullEvent[]): string[] {
  const lines: string[] = [];
  const notes = new PullNotes((image, line) => {
    assert.equal(image, IMAGE);
    lines.push(line);
  });
  notes.started(IMAGE);
  for (const event of events) notes.event(IMAGE, event);
  notes.pulled(IMAGE, "sha256:ab12, 4.2 MB");
  return lines;
}

/** Docker's stream for one layer: a download and an extraction, each reporting bytes many times. */
function dockerLayer(id: string, total: number, step: number): PullEvent[] {
  const events: PullEvent[] = [{ status: "Pulling fs layer", id, progressDetail: {} }, { status: "Waiting", id, progressDetail: {} }];
  for (const status of ["Downloading", "Extracting"]) {
    for (let current = 0; current <= total; current += step) events.push({ status, id, progressDetail: { current, total }, progress: `[=> ] ${current}/${total}` });
    events.push({ status: status === "Downloading" ? "Download complete" : "Pull complete", id, progressDetail: {} });
  }
  return events;
}

describe("pull lines in a service's log", () => {
  it("writes each kind of line as docs/containers.md says, and reads it back", () => {
    const lines: [PullLine, string][] = [
      [{ kind: "start", image: IMAGE }, "pulling 127.0.0.1:5000/app:1"],
      [{ kind: "layer", image: IMAGE, layer: "1693ca4c77e0", status: "Pulling fs layer" }, "pulling 127.0.0.1:5000/app:1: 1693ca4c77e0 Pulling fs layer"],
      [{ kind: "layer", image: IMAGE, layer: "1693ca4c77e0", status: "Downloading", bytes: { percent: 40, total: 27_100_000 } }, "pulling 127.0.0.1:5000/app:1: 1693ca4c77e0 Downloading 40% of 27.1 MB"],
      [{ kind: "pulled", image: IMAGE, detail: "sha256:7d35, 1.3 MB" }, "pulled 127.0.0.1:5000/app:1 (sha256:7d35, 1.3 MB)"],
      [{ kind: "pulled", image: IMAGE }, "pulled 127.0.0.1:5000/app:1"],
      [{ kind: "failed", image: IMAGE, reason: "reading manifest 1: manifest unknown" }, "pull failed 127.0.0.1:5000/app:1: reading manifest 1: manifest unknown"],
    ];
    for (const [line, text] of lines) {
      assert.equal(formatPullLine(line), text);
      assert.deepEqual(parsePullLine(text), line, text);
      assert.deepEqual(parsePullLine(`[ghostd] ${text}`), line, "as the log stores it");
    }
  });

  it("reads no pull out of other lines", () => {
    for (const text of ["", "[ghostd] started (container abc)", "pulling", "[ghostd] building: Step 1/3", "pulled", "pull failed x"]) assert.equal(parsePullLine(text), undefined, text);
  });

  it("reads back any layer line it writes", () => {
    const token = fc.stringMatching(/^[a-z0-9.:/_-]{1,30}$/);
    const status = fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}[a-z]$/);
    const bytes = fc.option(fc.record({ percent: fc.integer({ min: 0, max: 100 }), total: fc.integer({ min: 1, max: 10 ** 12 }) }), { nil: undefined });
    fc.assert(
      fc.property(token, token, status, bytes, (image, layer, text, size) => {
        const parsed = parsePullLine(formatPullLine({ kind: "layer", image, layer, status: text, ...(size ? { bytes: size } : {}) }));
        assert.equal(parsed?.kind, "layer");
        assert.deepEqual([parsed.image, parsed.layer, parsed.status, parsed.bytes?.percent], [image, layer, text, size?.percent]);
        // The total is read back as rounded for people: within 5% (one decimal of its unit).
        if (size) assert.ok(Math.abs((parsed.bytes?.total ?? 0) - size.total) <= size.total * 0.05 + 1, `${size.total} read back as ${parsed.bytes?.total}`);
      }),
    );
  });

  it("writes sizes in decimal units with one decimal, and reads them back", () => {
    assert.deepEqual([0, 999, 1000, 1_250_000, 27_100_000_000].map(formatSize), ["0 B", "999 B", "1.0 kB", "1.3 MB", "27.1 GB"]);
    assert.equal(parseSize("27.1 GB"), 27_100_000_000);
    assert.equal(parseSize("12 parsecs"), undefined);
  });

  it("tells what was pulled: the stream's digest, else the engine's one digest for the name, and the size", async () => {
    const a = `sha256:${"a".repeat(64)}`;
    const b = `sha256:${"b".repeat(64)}`;
    const engine = (inspect: () => Promise<unknown>): Docker => ({ getImage: () => ({ inspect }) }) as unknown as Docker;
    const has = (repoDigests: string[] | null) => engine(() => Promise.resolve({ RepoDigests: repoDigests, Size: 2_131_368 }));
    assert.equal(await pulledDetail(has([`127.0.0.1:5000/app@${a}`]), IMAGE, b), `${b}, 2.1 MB`, "Docker's Digest: line");
    assert.equal(await pulledDetail(has([`localhost/busybox@${b}`, `127.0.0.1:5000/app@${a}`]), IMAGE), `${a}, 2.1 MB`);
    assert.equal(await pulledDetail(has([`127.0.0.1:5000/app@${a}`, `127.0.0.1:5000/app@${b}`]), IMAGE), "2.1 MB", "Podman's every digest of the image: none is the one");
    assert.equal(await pulledDetail(has(null), IMAGE), "2.1 MB");
    assert.equal(await pulledDetail(engine(() => Promise.reject(new Error("gone"))), IMAGE), undefined);
  });

  it("names an image's repository without its tag or digest, a registry's port kept", () => {
    assert.equal(repositoryOf("127.0.0.1:5000/app:1"), "127.0.0.1:5000/app");
    assert.equal(repositoryOf("127.0.0.1:5000/app"), "127.0.0.1:5000/app");
    assert.equal(repositoryOf("busybox@sha256:abcd"), "busybox");
  });
});

describe("pull notes: a pull's events as a bounded number of lines", () => {
  it("writes Podman's events (no bytes for a fast pull) once per layer and status", () => {
    // As Podman 4.3's compat API sent them for a busybox image pushed to the test registry.
    const events: PullEvent[] = [
      { status: "Already exists", progressDetail: {}, id: "fe91a7759489" },
      { status: "Pulling fs layer", progressDetail: {}, id: "1693ca4c77e0" },
      { status: "Download complete", progressDetail: {}, id: "1693ca4c77e0" },
      { status: "Download complete", progressDetail: {}, id: "1693ca4c77e0" },
    ];
    assert.deepEqual(notesOf(events), [
      `pulling ${IMAGE}`,
      `pulling ${IMAGE}: fe91a7759489 Already exists`,
      `pulling ${IMAGE}: 1693ca4c77e0 Pulling fs layer`,
      `pulling ${IMAGE}: 1693ca4c77e0 Download complete`,
      `pulled ${IMAGE} (sha256:ab12, 4.2 MB)`,
    ]);
  });

  it("writes Docker's byte progress at most once per tenth, and no line for its image-wide statuses", () => {
    const events: PullEvent[] = [
      { status: "Pulling from app", id: "1" },
      ...dockerLayer("aaaaaaaaaaaa", 4_000_000, 32_768),
      { status: "Digest: sha256:ab12" },
      { status: "Status: Downloaded newer image for 127.0.0.1:5000/app:1" },
    ];
    const lines = notesOf(events);
    const downloading = lines.filter((l) => l.includes(" Downloading "));
    assert.deepEqual(
      downloading.map((l) => /(\d+)% of/.exec(l)?.[1]),
      ["0", "10", "20", "30", "40", "50", "60", "70", "80", "90"],
      "the last read (99.8%) is in the tenth already told; Download complete says the rest",
    );
    assert.equal(lines.filter((l) => l.includes(" Extracting ")).length, 10);
    assert.ok(events.length > 200 && lines.length === 26, `${events.length} events became ${lines.length} lines:\n${lines.join("\n")}`);
    assert.ok(!lines.some((l) => /Pulling from|Digest:|Status:/.test(l)), lines.join("\n"));
    assert.equal(lines.at(-1), `pulled ${IMAGE} (sha256:ab12, 4.2 MB)`);
    for (const line of lines) assert.notEqual(parsePullLine(line), undefined, line);
  });

  it("writes a new line for a status that comes back (a retried download)", () => {
    const id = "bbbbbbbbbbbb";
    const lines = notesOf([
      { status: "Downloading", id, progressDetail: { current: 500, total: 1000 } },
      { status: "Retrying in 1 second", id },
      { status: "Downloading", id, progressDetail: { total: 1000 } },
    ]);
    assert.deepEqual(lines.slice(1, -1), [`pulling ${IMAGE}: ${id} Downloading 50% of 1.0 kB`, `pulling ${IMAGE}: ${id} Retrying in 1 second`, `pulling ${IMAGE}: ${id} Downloading 0% of 1.0 kB`]);
  });

  it("leaves an error event to the failure line", () => {
    const lines: string[] = [];
    const notes = new PullNotes((_image, line) => lines.push(line));
    notes.started(IMAGE);
    notes.event(IMAGE, { error: "manifest unknown", errorDetail: { message: "manifest unknown" } });
    notes.failed(IMAGE, "reading manifest 1 in 127.0.0.1:5000/app: manifest unknown");
    assert.deepEqual(lines, [`pulling ${IMAGE}`, `pull failed ${IMAGE}: reading manifest 1 in 127.0.0.1:5000/app: manifest unknown`]);
  });
});
