import { isMapping, type Mapping } from "./documents";
import type { PortPlan, Protocol } from "./plan";

/** What reading a service's `ports:` and `expose:` found, for the import to report. */
export interface PortFindings {
  readonly ports: PortPlan[];
  readonly errors: string[];
  readonly warnings: string[];
  /** Entries honoured in another way than written, each with why. */
  readonly transformed: { readonly index: number; readonly reason: string }[];
}

/** The host addresses ghostd binds to anyway: mapping to them is no change. */
const LOOPBACK = new Set(["", "127.0.0.1", "localhost"]);
/** A range mapped port for port is expanded into that many ports; more is a mistake, not a wish. */
const MAX_PAIRED_RANGE = 1000;

interface Range {
  readonly from: number;
  readonly to: number;
}

/**
 * `ports:` in the spec's short syntax, `[HOST:]CONTAINER[/PROTOCOL]` with HOST `[IP:](port |
 * range)` (IPv6 as `::1:6000:6000` or `[::1]:6001:6001`), and long syntax (`published` a number,
 * a string or a range); then `expose:`. Every host port is bound on 127.0.0.1; a host range for
 * one container port means any free port of that range, as Compose reads it.
 */
export function readPorts(definition: Mapping): PortFindings {
  const findings: PortFindings = { ports: [], errors: [], warnings: [], transformed: [] };
  const list = definition.ports === undefined ? [] : Array.isArray(definition.ports) ? definition.ports : undefined;
  if (!list) findings.errors.push("ports: must be a list");
  for (const [index, entry] of (list ?? []).entries()) {
    const mapping = typeof entry === "number" || typeof entry === "string" ? shortSyntax(String(entry)) : isMapping(entry) ? longSyntax(entry) : `${JSON.stringify(entry)} is not a port mapping`;
    if (typeof mapping === "string") findings.errors.push(`ports[${index}]: ${mapping}`);
    else addMapping(findings, index, mapping);
  }
  for (const entry of Array.isArray(definition.expose) ? definition.expose : []) {
    const [text = "", protocol = "tcp"] = String(entry).split("/");
    const exposed = rangeOf(text);
    if (!exposed || !isProtocol(protocol)) findings.errors.push(`expose: "${String(entry)}" is not a port or a range like 8000-8005/tcp`);
    else for (let port = exposed.from; port <= exposed.to; port++) findings.ports.push({ containerPort: port, protocol, exposure: "none" });
  }
  return findings;
}

/** One entry of `ports:`, read but not yet checked against what ghostd does. */
interface Mapped {
  readonly text: string;
  readonly hostIp: string;
  readonly host: Range | undefined;
  readonly container: Range;
  readonly protocol: Protocol;
}

function shortSyntax(text: string): Mapped | string {
  const slash = text.lastIndexOf("/");
  const protocol = slash < 0 ? "tcp" : text.slice(slash + 1);
  const spec = slash < 0 ? text : text.slice(0, slash);
  if (!isProtocol(protocol)) return `"${text}": protocol ${protocol} is not supported; use tcp or udp`;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(.*)$/.exec(spec);
  // The container part is after the last colon, the host port before it; what is left is the IP, IPv6 colons and all.
  const rest = bracketed ? bracketed[2] ?? "" : spec;
  const lastColon = rest.lastIndexOf(":");
  const containerText = rest.slice(lastColon + 1);
  const hostPart = lastColon < 0 ? undefined : rest.slice(0, lastColon);
  const hostColon = hostPart === undefined ? -1 : hostPart.lastIndexOf(":");
  const hostText = hostPart === undefined ? "" : hostPart.slice(hostColon + 1);
  const hostIp = bracketed ? bracketed[1] ?? "" : hostColon < 0 ? "" : (hostPart ?? "").slice(0, hostColon);
  const container = rangeOf(containerText);
  const host = hostText === "" ? undefined : rangeOf(hostText);
  if (!container || (hostText !== "" && !host) || (bracketed && hostColon >= 0)) {
    return `"${text}" is not a port mapping like 80, 8080:80, 8000-8005:80-85, 127.0.0.1:8080:80, [::1]:8080:80 or 8080:80/udp (ports 1-65535)`;
  }
  return { text, hostIp, host, container, protocol };
}

function longSyntax(entry: Mapping): Mapped | string {
  const text = JSON.stringify(entry);
  const target = typeof entry.target === "number" || typeof entry.target === "string" ? rangeOf(String(entry.target)) : undefined;
  if (!target || target.from !== target.to) return `${text} needs a target: the container port, 1-65535`;
  const given = typeof entry.published === "number" || typeof entry.published === "string" ? String(entry.published) : entry.published;
  const published = given === undefined || given === "" ? undefined : typeof given === "string" ? rangeOf(given) : undefined;
  if (given !== undefined && given !== "" && !published) return `${text}: published must be a port or a range like 8000-8005`;
  const protocol = entry.protocol ?? "tcp";
  if (!isProtocol(protocol)) return `${text}: protocol ${JSON.stringify(protocol)} is not supported; use tcp or udp`;
  return { text, hostIp: typeof entry.host_ip === "string" ? entry.host_ip : "", host: published, container: target, protocol };
}

/** Checks a mapping against what ghostd does with it, and adds its ports. */
function addMapping(findings: PortFindings, index: number, mapped: Mapped): void {
  const { text, host, container, protocol } = mapped;
  const width = (r: Range): number => r.to - r.from + 1;
  if (!LOOPBACK.has(mapped.hostIp)) {
    findings.transformed.push({ index, reason: `bound to 127.0.0.1, not ${mapped.hostIp}: host ports are local to this machine` });
    findings.warnings.push(`ports[${index}]: "${text}" is bound to 127.0.0.1, not ${mapped.hostIp}`);
  }
  if (width(container) > MAX_PAIRED_RANGE) return void findings.errors.push(`ports[${index}]: "${text}" maps more than ${MAX_PAIRED_RANGE} ports`);
  if (host && width(container) === 1 && width(host) > 1) {
    findings.ports.push({ containerPort: container.from, protocol, exposure: "auto", hostRange: host });
    return;
  }
  if (host && width(host) !== width(container)) return void findings.errors.push(`ports[${index}]: "${text}" maps ${width(host)} host ports onto ${width(container)} container ports; ranges must be as wide`);
  for (let i = 0; i < width(container); i++) {
    findings.ports.push({ containerPort: container.from + i, protocol, exposure: "auto", ...(host ? { hostPort: host.from + i } : {}) });
  }
}

function isProtocol(value: unknown): value is Protocol {
  return value === "tcp" || value === "udp";
}

function portNumber(text: string): number | undefined {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `80` or `8000-8005`. */
function rangeOf(text: string): Range | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const from = portNumber(match[1] ?? "");
  const to = match[2] === undefined ? from : portNumber(match[2]);
  return from === undefined || to === undefined || to < from ? undefined : { from, to };
}
