import type { Clock } from "../clock";
import { ChangeWatch } from "./change-watch";
import type { Tree } from "./tree";

export interface AutosaveOptions {
  /** The project's current/ directory. */
  readonly current: string;
  readonly debounceMs: number;
  readonly clock: Clock;
  /** Saves an autosave snapshot (which commits nothing when the content did not change). */
  readonly save: () => Promise<unknown>;
  readonly failed: (err: unknown) => void;
  /** How current/ is walked when it cannot be watched and is scanned instead. */
  readonly walk: (dir: string) => Promise<Tree>;
}

/**
 * A running project's autosave: the first change after a save opens a window of
 * `autosaveDebounceSeconds`, and its end saves once, whatever changed in it. Changes while a
 * save runs open the next window. No change, no save.
 */
export class Autosaver {
  private readonly watch: ChangeWatch;
  private cancelWindow: (() => void) | undefined;
  private saving: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: AutosaveOptions) {
    this.watch = new ChangeWatch(options.current, () => this.changed(), options.clock, options.debounceMs, options.walk);
    this.watch.start();
  }

  /** Stops watching; a save under way finishes. */
  async close(): Promise<void> {
    this.closed = true;
    this.watch.close();
    this.cancelWindow?.();
    this.cancelWindow = undefined;
    await this.saving;
  }

  private changed(): void {
    if (this.closed || this.cancelWindow) return;
    this.cancelWindow = this.options.clock.after(this.options.debounceMs, () => {
      this.cancelWindow = undefined;
      this.saving = this.options
        .save()
        .then(() => undefined, this.options.failed)
        .finally(() => (this.saving = undefined));
    });
  }
}
