import { canonicalAddress, linesOf, ownerAmong, type TcpEnds } from "./socket-table";

/** One of the kernel's TCP socket tables, in batches of lines: "tcp" (IPv4) or "tcp6". */
export type SocketTables = (table: "tcp" | "tcp6") => AsyncIterable<readonly string[]>;

export const PROC_TABLES: SocketTables = (table) => linesOf(`/proc/net/${table}`);

interface Lookup {
  readonly ends: TcpEnds;
  readonly ipv4: boolean;
  owner: number | undefined;
  readonly resolve: (owner: number | undefined) => void;
}

/**
 * Finds which uid owns the client end of loopback connections, from the kernel's socket tables.
 *
 * The kernel formats every row it is asked for, a few microseconds each plus a walk of every hash
 * bucket, and a busy machine has thousands of rows (every TIME_WAIT of the last minute): read
 * whole, for every connection, the tables cost more than serving the request. So a scan stops
 * at the last row it looks for, reads only the tables the clients' address families can be in,
 * and serves every lookup that was waiting when it began; lookups that come during a scan wait
 * for the next one, since their connections may be newer than the rows already read.
 */
export class SocketOwners {
  private waiting: Lookup[] = [];
  private scanning = false;

  constructor(private readonly tables: SocketTables = PROC_TABLES) {}

  /** The uid owning the client's socket; undefined when no row is it (gone, or another machine's). */
  owner(ends: TcpEnds): Promise<number | undefined> {
    const { localAddress, localPort, remoteAddress, remotePort } = ends;
    if (localAddress === undefined || remoteAddress === undefined || localPort === undefined || remotePort === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const ipv4 = canonicalAddress(remoteAddress).startsWith("[::ffff:");
      this.waiting.push({ ends: { localAddress, localPort, remoteAddress, remotePort }, ipv4, owner: undefined, resolve });
      if (this.scanning) return;
      this.scanning = true;
      // Lookups made in the same turn of the event loop share the scan.
      queueMicrotask(() => void this.scanWhileWaiting());
    });
  }

  private async scanWhileWaiting(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        await this.scan(batch).catch(() => undefined);
        for (const lookup of batch) lookup.resolve(lookup.owner);
      }
    } finally {
      this.scanning = false;
    }
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
        lookup.owner = ownerAmong(lines, lookup.ends);
        if (lookup.owner !== undefined) unresolved--;
      }
      if (unresolved === 0) return;
    }
  }
}
