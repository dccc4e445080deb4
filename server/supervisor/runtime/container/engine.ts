import { existsSync } from "node:fs";
import Docker from "dockerode";

/** Where a Docker Engine API answers: a unix socket, or a TCP address from DOCKER_HOST. */
export type EngineAddress = { readonly socketPath: string } | { readonly host: string; readonly port: number; readonly protocol: "http" };

/** An engine that answered, and what it calls itself (`Docker 27.1.1`, `Podman Engine 4.3.1`). */
export interface Engine {
  readonly docker: Docker;
  readonly address: string;
  readonly version: string;
}

/**
 * Where to look for an engine, in order, as Docker's own clients do: DOCKER_HOST when set, else
 * Docker's socket, else Podman's root socket, else the rootless one of this user.
 */
export function engineCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  if (env.DOCKER_HOST) return [env.DOCKER_HOST];
  const rootless = env.XDG_RUNTIME_DIR ? [`unix://${env.XDG_RUNTIME_DIR}/podman/podman.sock`] : [];
  return ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock", ...rootless];
}

/** A DOCKER_HOST-style address as dockerode takes it; ssh:// and anything else is refused. */
export function engineAddress(text: string): EngineAddress {
  if (text.startsWith("unix://")) return { socketPath: text.slice("unix://".length) };
  const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(text);
  if (tcp) return { host: tcp[1] ?? "", port: Number(tcp[2]), protocol: "http" };
  throw new Error(`${text} is not an engine address this daemon can use (unix:///path or tcp://host:port)`);
}

/**
 * How long an engine that answered its ping may take to say what it is, for the log, before the
 * daemon goes on without knowing: a busy Podman took seconds, and the daemon's start waits.
 */
const VERSION_TIMEOUT_MS = 5000;

/** Why no engine answered, address by address. */
export class NoEngine extends Error {}

/**
 * The first candidate that answers a ping within `timeoutMs` (then its version, if it tells it
 * within VERSION_TIMEOUT_MS). A socket file that is not there is not asked; one that does not answer (a dead
 * daemon's leftover) is passed over, and said so.
 */
export async function findEngine(candidates: readonly string[], timeoutMs = 3000): Promise<Engine> {
  const why: string[] = [];
  for (const candidate of candidates) {
    try {
      const address = engineAddress(candidate);
      if ("socketPath" in address && !existsSync(address.socketPath)) {
        why.push(`${candidate}: no such socket`);
        continue;
      }
      const pinger = new Docker({ ...address, timeout: timeoutMs });
      // Podman's API service, started on demand by its socket, may drop the first connection.
      await pinger.ping().catch(() => pinger.ping());
      // Asked apart from the ping: Podman's /version looks at its storage, seconds on a busy machine.
      const version = await new Docker({ ...address, timeout: VERSION_TIMEOUT_MS }).version().then(
        (v) => `${v.Components[0]?.Name ?? "Docker Engine"} ${v.Version}`,
        () => `an engine that did not tell its version within ${VERSION_TIMEOUT_MS / 1000} s`,
      );
      // The timeouts were for these questions: pulls and waits take as long as they take.
      return { docker: new Docker(address), address: candidate, version };
    } catch (err) {
      why.push(`${candidate}: ${(err as Error).message}`);
    }
  }
  throw new NoEngine(`no container engine answers (${why.join("; ")})`);
}
