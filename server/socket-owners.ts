import { clientRow, linesOf, ownerAmong, type ClientRow, type TcpEnds } from "./socket-table";

/** One of the kernel's TCP socket tables, in batches of lines: "tcp" (IPv4) or "tcp6". */
export type SocketTables = (table: "tcp" | "tcp6") => AsyncIterable<readonly string[]>;

export const PROC_TABLES: SocketTables = (table) => linesOf(`/proc/net/${table}`);

interface Lookup {
  readonly wanted: ClientRow;
  readonly ipv4: boolean;
  owner: number | undefined;
  readonly resolve: (owner: number | undefined) => void;
}

/** Scans at once: one waiting connection never waits for a whole scan begun before it, and a burst still costs two. */
const MAX_SCANS = 2;

/**
 * Finds which uid owns the client end of loopback connections, from the kernel's socket tables.
 *
 * The kernel formats every row it is asked for, a few microseconds each plus a walk of every hash
 * bucket, and a busy machine has thousands of rows (every TIME_WAIT of the last minute): read
 * whole, for every connection, the tables cost more than serving the request. So a scan stops
 * at the last row it looks for, reads only the tables the clients' address families can be in,
 * and serves every lookup that was waiting when it began. A lookup that comes during a scan is not
 * answered from it, since its connection may be newer than the rows already read: it starts a
 * second scan, or, when two are running, waits with the others for the next.
 */
export class SocketOwners {
  private waiting: Lookup[] = [];
  private running = 0;
  private scheduled = false;

  constructor(private readonly tables: SocketTables = PROC_TABLES) {}

  /** The uid owning the client's socket; undefined when no row is it (gone, or another machine's). */
  owner(ends: TcpEnds): Promise<number | undefined> {
    // Taken now: a socket's addresses vanish when it closes.
    const wanted = clientRow(ends);
    if (!wanted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting.push({ wanted, ipv4: wanted.theirs.startsWith("[::ffff:"), owner: undefined, resolve });
      this.schedule();
    });
  }

  /** Lookups made in the same turn of the event loop share the scan. */
  private schedule(): void {
    if (this.scheduled || this.running >= MAX_SCANS) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.scanWaiting();
    });
  }

  private async scanWaiting(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    this.running++;
    try {
      await this.scan(batch).catch(() => undefined);
    } finally {
      this.running--;
      for (const lookup of batch) lookup.resolve(lookup.owner);
    }
    if (this.waiting.length > 0) this.schedule();
  }

  /** An IPv4 client is in "tcp"; one that dialled a mapped address from a dual-stack socket is in "tcp6". */
  private async scan(batch: readonly Lookup[]): Promise<void> {
    await this.scanTable("tcp", batch.filter((lookup) => lookup.ipv4));
    await this.scanTable("tcp6", batch.filter((lookup) => lookup.owner === undefined));
  }

  private async scanTable(table: "tcp" | "tcp6", lookups: readonly Lookup[]): Promise<void> {
    let unresolved = lookups.length;
    if (unresolved === 0) return;
    for await (const lines of this.tables(table)) {
      for (const lookup of lookups) {
        if (lookup.owner !== undefined) continue;
        lookup.owner = ownerAmong(lines, lookup.wanted);
        if (lookup.owner !== undefined) unresolved--;
      }
      if (unresolved === 0) return;
    }
  }
}
