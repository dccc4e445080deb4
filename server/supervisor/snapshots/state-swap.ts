import { existsSync, readdirSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory } from "../../durability";

const STAGING = ".restore-";
const RETIRED = ".retired-";

/** Where a restore writes the snapshot before it becomes current/: beside it, on the same filesystem. */
export function stagingOf(stateRoot: string, snapshotId: string): string {
  return join(stateRoot, `${STAGING}${snapshotId}`);
}

/**
 * Makes `staging` the project's current/: the old tree is renamed aside and the new one renamed
 * in; returns the old tree's path, for the caller to remove (it need not wait: removing a large
 * tree takes longer than writing it). Two renames are not one atomic step; recoverState()
 * finishes or undoes what a crash between them left, and removes a retired tree left behind.
 */
export async function swapIn(stateRoot: string, staging: string): Promise<string> {
  const current = join(stateRoot, "current");
  const retired = join(stateRoot, `${RETIRED}${Date.now()}`);
  await rename(current, retired);
  await rename(staging, current);
  await syncDirectory(stateRoot);
  return retired;
}

/**
 * After a crash, the state is the old tree or the new one in full: a restore that had not
 * swapped in leaves current/ as it was (its staging is removed); one caught between its two
 * renames gets the old tree back; a retired tree left after the swap is removed.
 */
export async function recoverState(stateRoot: string): Promise<string[]> {
  // Read at once: with nothing to recover, as nearly always, no I/O waits.
  const names = existsSync(stateRoot) ? readdirSync(stateRoot) : [];
  const retired = names.filter((n) => n.startsWith(RETIRED)).sort();
  const done: string[] = [];
  const current = join(stateRoot, "current");
  const newest = retired.pop();
  if (newest && !existsSync(current)) {
    await rename(join(stateRoot, newest), current);
    await syncDirectory(stateRoot);
    done.push("put back the state a restore had moved aside when it was interrupted");
  }
  else if (newest) retired.push(newest);
  for (const name of [...retired, ...names.filter((n) => n.startsWith(STAGING))]) {
    await rm(join(stateRoot, name), { recursive: true, force: true });
    done.push(`removed ${name}, left by an interrupted restore`);
  }
  return done;
}
