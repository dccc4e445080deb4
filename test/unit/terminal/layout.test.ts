import assert from "node:assert/strict";
import { Layout } from "../../../server/terminal/layout";

const WINDOW = { width: 1200, height: 800 };
const size = (layout: Layout, id: string) => {
  const r = layout.allRects().get(id);
  return r ? `${r.width}x${r.height}@${r.x},${r.y}` : "none";
};

describe("layout", () => {
  it("halves a terminal on a split and gives the space back when one closes", () => {
    const layout = new Layout();
    layout.addWindow("main", WINDOW);
    layout.split("main", "right", "right");
    assert.equal(size(layout, "main"), "600x800@0,0");
    assert.equal(size(layout, "right"), "600x800@600,0");
    layout.split("main", "down", "down");
    assert.equal(size(layout, "main"), "600x400@0,0");
    assert.equal(size(layout, "down"), "600x400@0,400");
    layout.split("right", "left-of-right", "left");
    assert.equal(size(layout, "left-of-right"), "300x800@600,0");
    assert.equal(size(layout, "right"), "300x800@900,0");
    layout.remove("down");
    assert.equal(size(layout, "main"), "600x800@0,0");
    layout.remove("left-of-right");
    assert.equal(size(layout, "right"), "600x800@600,0");
  });

  it("splits the longer side for auto", () => {
    const layout = new Layout();
    layout.addWindow("a", { width: 400, height: 800 });
    layout.split("a", "b", "auto");
    assert.equal(size(layout, "b"), "400x400@0,400");
  });

  it("keeps tabs in their window, each with the whole window", () => {
    const layout = new Layout();
    const window = layout.addWindow("a", WINDOW);
    layout.addTab("a", "b");
    assert.equal(layout.place("b").window.id, window.id);
    assert.equal(layout.place("b").tabIndex, 1);
    assert.equal(size(layout, "b"), "1200x800@0,0");
    assert.equal(layout.tabCount("a"), 2);
    assert.equal(layout.tabTerminal("a", 1), "a");
    assert.equal(layout.tabTerminal("a", 3), undefined);
    layout.remove("a");
    assert.equal(layout.place("b").tabIndex, 0);
    layout.remove("b");
    assert.equal(layout.has("b"), false);
  });

  it("finds neighbours by direction and in order", () => {
    const layout = new Layout();
    layout.addWindow("tl", WINDOW);
    layout.split("tl", "tr", "right");
    layout.split("tl", "bl", "down");
    assert.equal(layout.neighbour("tl", "right"), "tr");
    assert.equal(layout.neighbour("tl", "down"), "bl");
    assert.equal(layout.neighbour("bl", "up"), "tl");
    assert.equal(layout.neighbour("bl", "right"), "tr");
    assert.equal(layout.neighbour("tl", "left"), undefined);
    assert.equal(layout.neighbour("tl", "next"), "bl");
    assert.equal(layout.neighbour("tr", "next"), "tl");
    assert.equal(layout.neighbour("tl", "previous"), "tr");
  });

  it("zooms, equalizes and resizes splits", () => {
    const layout = new Layout();
    layout.addWindow("a", WINDOW);
    layout.split("a", "b", "right");
    layout.split("b", "c", "right");
    assert.equal(size(layout, "a"), "600x800@0,0");
    layout.equalize("a");
    assert.equal(size(layout, "a"), "400x800@0,0");
    assert.equal(size(layout, "b"), "400x800@400,0");
    assert.equal(size(layout, "c"), "400x800@800,0");
    assert.ok(layout.toggleZoom("b"));
    assert.equal(size(layout, "b"), "1200x800@0,0");
    assert.ok(layout.toggleZoom("b"));
    assert.equal(size(layout, "b"), "400x800@400,0");
    assert.ok(layout.resize("a", "right", 100, { width: 10, height: 20 }));
    assert.equal(size(layout, "a"), "500x800@0,0");
    assert.ok(!layout.resize("a", "down", 100, { width: 10, height: 20 }), "no vertical split to move");
    assert.ok(layout.resize("a", "left", 10_000, { width: 10, height: 20 }));
    assert.equal(size(layout, "a"), "10x800@0,0", "a split never shrinks below one cell");
  });
});
