import { appendFileSync } from "node:fs";

/** One measure of a benchmark: ghostd beside its anchor, and the ratio the target is about. */
export interface Figure {
  readonly measure: string;
  readonly anchor: string;
  /** The anchor's and ghostd's values, in `unit`. */
  readonly anchorValue: number;
  readonly ours: number;
  readonly unit: string;
  /** ghostd/anchor, of whatever the unit measures: above 1 is slower for a time, faster for a throughput. */
  readonly ratio: number;
  /** The target on the ratio, `>=` or `<=`; none for a measure that is only reported. */
  readonly target?: { readonly op: ">=" | "<="; readonly value: number };
}

/** Where `bench:all` collects figures: one JSON line each, appended by every benchmark it runs. */
export const FIGURES_ENV = "GHOSTD_BENCH_FIGURES";

/** Whether the ratio meets the target; a figure without one meets it trivially. */
export function met(figure: Figure): boolean {
  if (!figure.target) return true;
  return figure.target.op === ">=" ? figure.ratio >= figure.target.value : figure.ratio <= figure.target.value;
}

/** Records a figure for the summary, when a benchmark runs under `bench:all`. */
export function record(figure: Figure): void {
  const file = process.env[FIGURES_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(figure)}\n`);
}
