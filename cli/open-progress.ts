import { parsePullLine } from "../server/supervisor/runtime/container/pull-lines";
import { applyPullLine, emptyBoard, markPulled, renderBoard, type PullBoard } from "./pull-progress";

/** A terminal to draw on: stderr, when it is one. */
export interface ProgressTerminal {
  write(text: string): void;
  /** Its width now (it may be resized while the pull goes on). */
  columns(): number;
}

/**
 * The pull bars of `ghostctl open`, drawn in place: the pull lines of the project's log go in,
 * and each time one changes the board, its lines are drawn over the ones drawn before. Nothing is
 * drawn until a pull starts, so an open that pulls nothing prints nothing here.
 */
export class PullDisplay {
  private board: PullBoard = emptyBoard;
  private drawn = 0;
  private last: string[] = [];
  private finished = false;
  private onSettled: (() => void) | undefined;

  constructor(private readonly terminal: ProgressTerminal) {}

  /** Whether every pull drawn has ended, pulled or failed. */
  settled(): boolean {
    return [...this.board.values()].every((pull) => pull.state !== "pulling");
  }

  /**
   * Resolves once every pull drawn has ended, or after `timeoutMs`: the log's last lines travel
   * apart from OpenProject's answer, and may come just after it.
   */
  whenSettled(timeoutMs: number): Promise<void> {
    if (this.settled()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onSettled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Log lines as they come; all but the pull lines are passed over. */
  take(lines: readonly string[]): void {
    if (this.finished) return;
    for (const line of lines) {
      const pull = parsePullLine(line);
      if (pull) this.board = applyPullLine(this.board, pull);
    }
    this.draw();
    if (this.settled()) this.onSettled?.();
  }

  /**
   * The open is over: the images it says it pulled are shown whole (those whose lines the log had
   * not brought yet too), and nothing more is drawn.
   */
  finish(pulled: readonly string[] = []): void {
    if (this.finished) return;
    this.board = markPulled(this.board, pulled);
    this.draw();
    this.finished = true;
  }

  private draw(): void {
    const lines = renderBoard(this.board, this.terminal.columns());
    if (lines.length === this.last.length && lines.every((line, i) => line === this.last[i])) return;
    // Up to the first line drawn before, then each line cleared and written again.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    this.terminal.write(`${up}${lines.map((line) => `\r\x1b[2K${line}\n`).join("")}`);
    this.drawn = lines.length;
    this.last = lines;
  }
}
