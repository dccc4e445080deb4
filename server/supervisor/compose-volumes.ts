import { isMapping, type Mapping } from "./documents";
import type { ComposeReport, ServiceError } from "./compose-report";
import { isAbsoluteTarget, isContainedPath } from "./manifest";
import type { MountPlan } from "./plan";

/** `volumes:` in its short (`source:target[:mode,...]`) and long forms, and `tmpfs:`. */
export function mountsOf(definition: Mapping, service: string, volumes: string[], report: ComposeReport, error: ServiceError): MountPlan[] {
  const mounts = new ServiceMounts(service, volumes, report, error);
  for (const [i, entry] of (Array.isArray(definition.volumes) ? definition.volumes : []).entries()) {
    if (typeof entry === "string") mounts.shortForm(entry, i);
    else if (isMapping(entry)) mounts.longForm(entry, i);
    else error(`volumes[${i}]: must be a string like name:/path or a mapping`);
  }
  if (definition.volumes !== undefined && !Array.isArray(definition.volumes)) error("volumes: must be a list");
  const tmpfs = definition.tmpfs === undefined ? [] : Array.isArray(definition.tmpfs) ? definition.tmpfs : [definition.tmpfs];
  for (const target of tmpfs) {
    const path = typeof target === "string" ? (target.split(":")[0] ?? "") : "";
    if (!isAbsoluteTarget(path)) error(`tmpfs: "${String(target)}" must be an absolute path`);
    else mounts.tmpfs(path);
  }
  return mounts.list;
}

/** The short form's access modes: `ro`, `rw`, and the SELinux labels `z` and `Z`, which need no doing here. */
const ACCESS_MODES = new Set(["ro", "rw", "z", "Z"]);

/** One service's mounts as they are read, each classified in the report as it is added. */
class ServiceMounts {
  readonly list: MountPlan[] = [];
  private anonymous = 0;

  constructor(
    private readonly service: string,
    /** The project's named volumes; an anonymous volume is added to them. */
    private readonly volumes: string[],
    private readonly report: ComposeReport,
    private readonly error: ServiceError,
  ) {}

  shortForm(entry: string, i: number): void {
    const where = this.where(i);
    const [source = "", target, mode = "rw", ...extra] = entry.split(":");
    if (target === undefined) return this.anonymousVolume(source, where);
    const modes = mode.split(",");
    if (extra.length > 0 || !modes.every((m) => ACCESS_MODES.has(m))) return this.error(`volumes[${i}]: "${entry}" is not a mount like source:/target or source:/target:ro`);
    if (!isAbsoluteTarget(target)) return this.error(`volumes[${i}]: "${entry}" must mount at an absolute path`);
    const readOnly = modes.includes("ro");
    // The spec: a path begins with `.`, `/` or `~`; anything else is a volume's name.
    if (/^[./~]/.test(source) || source.includes("/")) this.bind(source, target, readOnly, where);
    else if (!this.volumes.includes(source)) this.error(`volumes[${i}]: volume "${source}" is not declared in the top-level volumes`);
    else this.namedVolume(source, target, readOnly, where);
  }

  longForm(entry: Mapping, i: number): void {
    const where = this.where(i);
    const { type, source, target } = entry;
    const readOnly = entry.read_only === true || entry.read_only === "true";
    if (typeof target !== "string" || !isAbsoluteTarget(target)) return this.error(`volumes[${i}].target: must be an absolute path`);
    if (isMapping(entry.volume) && entry.volume.subpath !== undefined) {
      this.report.rejected.push({ path: `${where}.volume.subpath`, service: this.service, reason: "a subpath of a volume is not mounted on its own; the whole volume is" });
    }
    if (type === "tmpfs") {
      this.tmpfs(target);
      this.report.transformed.push({ path: where, service: this.service, reason: "kept as a private temporary file system" });
    } else if (type === "bind" && typeof source === "string") this.bind(source, target, readOnly, where);
    else if ((type === "volume" || type === undefined) && source === undefined) this.anonymousVolume(target, where);
    else if ((type === "volume" || type === undefined) && typeof source === "string" && this.volumes.includes(source)) this.namedVolume(source, target, readOnly, where);
    else this.error(`volumes[${i}]: needs type volume (a declared volume), bind (a package path) or tmpfs`);
  }

  tmpfs(target: string): void {
    this.list.push({ kind: "tmpfs", source: "", target, readOnly: false });
  }

  private where(i: number): string {
    return `services.${this.service}.volumes[${i}]`;
  }

  /** A field's path below its service, as `error` takes it. */
  private below(where: string): string {
    return where.slice(`services.${this.service}.`.length);
  }

  /** `- /path`: a volume of its own under the project's state. */
  private anonymousVolume(target: string, where: string): void {
    if (!isAbsoluteTarget(target)) return this.error(`${this.below(where)}: "${target}" must mount at an absolute path`);
    const name = `${this.service}-anonymous-${++this.anonymous}`;
    this.volumes.push(name);
    this.list.push({ kind: "volume", source: name, target, readOnly: false });
    this.report.transformed.push({ path: where, service: this.service, reason: `an anonymous volume, kept as ${name}` });
  }

  private namedVolume(source: string, target: string, readOnly: boolean, where: string): void {
    this.report.supported.push({ path: where, service: this.service, reason: `named volume ${source}, kept under the project's state` });
    this.list.push({ kind: "volume", source, target, readOnly });
  }

  /** A bind mount of a package path, copied under current/files; a path outside the package is refused. */
  private bind(source: string, target: string, readOnly: boolean, where: string): void {
    // Compose expands `~` to the home directory: not absolute as written, but outside the package all the same.
    const outside = source.startsWith("/") ? "an absolute host path" : source.startsWith("~") ? "a path in the user's home directory" : undefined;
    if (outside !== undefined) {
      this.report.rejected.push({ path: where, service: this.service, reason: `${source} is ${outside}, refused: only paths inside the package are mounted` });
      return this.error(`${this.below(where)}: "${source}" is ${outside}, outside the package; only relative paths inside the package can be mounted`);
    }
    const relative = source.replace(/^\.\//, "");
    if (!isContainedPath(relative)) return this.error(`${this.below(where)}: "${source}" leaves the package`);
    this.report.transformed.push({ path: where, service: this.service, reason: `${source} is copied under the project's current/files and mounted from there` });
    this.list.push({ kind: "files", source: relative, target, readOnly });
  }
}
