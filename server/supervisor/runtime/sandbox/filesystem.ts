import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import type { ServiceContext } from "../driver";
import type { ExtraFds } from "./extra-fds";
import type { ServiceIdentity } from "./identity";

/**
 * The system's read-only directories, the only part of the host a service sees. Not there:
 * /root and /home (people's files), /run and /var (engine sockets, the Host API's sockets,
 * ghostd's own home when it lives there), /mnt, /media, /srv, /boot, /sys.
 */
const SYSTEM_DIRECTORIES = new Set(["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"]);

/** Service names resolve to the project's own loopback: its services share one network namespace. */
export function hostsFile(services: readonly string[]): string {
  return `127.0.0.1\tlocalhost ${services.join(" ")}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}

/**
 * bubblewrap's file-system arguments: a fresh root holding the system directories read-only,
 * private /tmp, /run and /var, /proc and /dev of its own, generated /etc/hosts (and the service
 * user in /etc/passwd), the package read-only at its own path and the mounts at their targets.
 */
export function filesystemArguments(context: ServiceContext, cwd: string, identity: ServiceIdentity, fds: ExtraFds): string[] {
  const generated = generatedFiles(context, identity);
  // A generated file that is a link on the host (resolv.conf often is) cannot be bound over: its directory is made afresh.
  const replaced = [...generated.keys()].filter((target) => !isRegularFile(target));
  const args = ["--tmpfs", "/", ...systemReadOnly([...context.mounts.map((m) => m.target), ...replaced])];
  args.push("--proc", "/proc", "--dev", "/dev", ...["/tmp", "/run", "/var"].flatMap((dir) => ["--perms", "1777", "--tmpfs", dir]));
  for (const [target, text] of generated) args.push("--perms", "0644", "--ro-bind-data", fds.data(text), target);
  // bubblewrap would make the directories on the way to a bind owner-only, closed to the services' user.
  for (const dir of parentsOutsideSystem([context.packagePath, ...context.mounts.map((m) => m.target)])) args.push("--perms", "0755", "--dir", dir);
  args.push("--ro-bind", context.packagePath, context.packagePath);
  for (const mount of context.mounts) {
    if (mount.kind === "tmpfs") args.push("--perms", "1777", "--tmpfs", mount.target);
    else args.push(mount.readOnly ? "--ro-bind" : "--bind", mount.hostPath, mount.target);
  }
  args.push("--chdir", cwd);
  return args;
}

/** Files the sandbox gets in place of the host's: names of the project's services, its DNS, its user. */
function generatedFiles(context: ServiceContext, identity: ServiceIdentity): Map<string, string> {
  const files = new Map([["/etc/hosts", hostsFile(context.network.services)]]);
  if (context.network.egress) files.set("/etc/resolv.conf", "nameserver 10.0.2.3\n");
  if (identity.dropsRoot) {
    files.set("/etc/passwd", withEntry("/etc/passwd", identity.uid, `ghostd-service:x:${identity.uid}:${identity.gid}:ghostd service:/tmp:/usr/sbin/nologin`));
    files.set("/etc/group", withEntry("/etc/group", identity.gid, `ghostd-service:x:${identity.gid}:`));
  }
  return files;
}

/** The directories above each path, outermost first, but those the system directories hold already. */
function parentsOutsideSystem(paths: readonly string[]): string[] {
  const parents = new Set<string>();
  for (const path of paths) {
    const parts = path.split("/").filter(Boolean);
    if (SYSTEM_DIRECTORIES.has(parts[0] ?? "")) continue;
    for (let i = 1; i < parts.length; i++) parents.add(`/${parts.slice(0, i).join("/")}`);
  }
  return [...parents].sort((a, b) => a.split("/").length - b.split("/").length);
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** The host's /etc/passwd or /etc/group with the service's entry, unless the id has one already. */
function withEntry(file: string, id: number, entry: string): string {
  const text = readQuiet(file);
  const known = text.split("\n").some((line) => line.split(":")[2] === String(id));
  return known ? text : `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${entry}\n`;
}

/**
 * Binds the system directories read-only, entry by entry from the root. A directory on the way
 * to a mount target (/etc for /etc/app) is not bound whole, since nothing could be created in it:
 * it is made afresh and its own entries are bound, leaving room for the target.
 */
function systemReadOnly(targets: readonly string[]): string[] {
  const args: string[] = [];
  const wanted = new Set(targets);
  const onTheWay = new Set(targets.flatMap((target) => target.split("/").slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join("/")}`)));
  const expose = (dir: string): void => {
    for (const entry of readdirQuiet(dir)) {
      const path = dir === "/" ? `/${entry}` : `${dir}/${entry}`;
      if (dir === "/" && !SYSTEM_DIRECTORIES.has(entry)) continue;
      if (wanted.has(path)) continue;
      const link = readLink(path);
      const info = link === undefined ? statQuiet(path) : undefined;
      if (link !== undefined) args.push("--symlink", link, path);
      else if (info?.isDirectory() && onTheWay.has(path)) {
        args.push("--dir", path);
        expose(path);
      } else if (info?.isDirectory() || info?.isFile()) args.push("--ro-bind", path, path);
    }
  };
  expose("/");
  return args;
}

function readQuiet(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function statQuiet(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
