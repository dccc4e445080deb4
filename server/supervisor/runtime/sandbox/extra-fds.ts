import type { ChildProcess, StdioOptions } from "node:child_process";

/**
 * Data a child reads from file descriptors beyond stdin, stdout and stderr, numbered from 3 as
 * spawn's stdio array passes them: generated files and the seccomp program for bubblewrap, which
 * thus never touch the disk.
 */
export class ExtraFds {
  private readonly items: Buffer[] = [];

  /** The child's number for a pipe that carries `data` and then ends. */
  data(data: Buffer | string): string {
    this.items.push(typeof data === "string" ? Buffer.from(data) : data);
    return String(2 + this.items.length);
  }

  stdio(first: readonly ("ignore" | "pipe")[]): StdioOptions {
    return [...first, ...this.items.map(() => "pipe" as const)];
  }

  /** Writes each pipe's data once the child runs; small enough to fit in a pipe, so it never waits on a reader. */
  feed(child: ChildProcess): void {
    this.items.forEach((item, i) => {
      const pipe = child.stdio[3 + i] as NodeJS.WritableStream | null | undefined;
      pipe?.on("error", () => undefined);
      pipe?.end(item);
    });
  }
}
