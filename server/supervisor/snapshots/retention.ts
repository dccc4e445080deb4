import type { SnapshotSummary } from "./document";

/**
 * The snapshots to remove so at most `max` remain, oldest first within each class: unlabelled
 * autosaves go first, then other unlabelled snapshots taken by the supervisor (before a restore
 * or an upgrade), and manual or labelled snapshots only when nothing else is left. The newest
 * snapshot always stays: it is what the next save builds on.
 */
export function snapshotsToPrune(index: readonly SnapshotSummary[], max: number): SnapshotSummary[] {
  const excess = index.length - Math.max(1, max);
  if (excess <= 0) return [];
  const newest = index.at(-1);
  const rank = (s: SnapshotSummary): number => {
    const labelled = Object.keys(s.labels).length > 0;
    if (labelled || s.reason === "manual") return 2;
    return s.reason === "autosave" ? 0 : 1;
  };
  const candidates = index.filter((s) => s !== newest).map((s, order) => ({ s, order }));
  candidates.sort((a, b) => rank(a.s) - rank(b.s) || a.order - b.order);
  return candidates.slice(0, excess).map((c) => c.s);
}
