import type Docker from "dockerode";
import { requireTools } from "./tools";

/** Where the tests' registry is said to be: `scripts/container-engine.sh up` prints it. */
export const REGISTRY_VARIABLE = "GHOSTD_TEST_REGISTRY";

const SETUP_STEP = `scripts/container-engine.sh up, which exports ${REGISTRY_VARIABLE}`;

/**
 * The address (host:port) of an image registry the engine pulls from over plain HTTP. Without
 * one, the test skips on a developer's machine and fails under CI, naming the step that sets it up.
 */
export async function requireRegistry(context: Mocha.Context): Promise<string> {
  const address = process.env[REGISTRY_VARIABLE] ?? "";
  const problem = address === "" ? `${REGISTRY_VARIABLE} is not set` : await unanswered(address);
  if (problem === undefined) return address;
  requireTools(context, [{ what: `an image registry for the engine (${problem})`, present: false, provider: SETUP_STEP }]);
  throw new Error("unreachable: requireTools skips or throws");
}

/** Why the registry at `address` does not do (undefined when it answers the V2 API's base request). */
async function unanswered(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? undefined : `http://${address}/v2/ answers ${res.status}`;
  } catch (err) {
    return `nothing answers at http://${address}/v2/ (${(err as Error).message})`;
  }
}

/** The events of an engine's progress stream, read to its end; an error event fails it. */
async function consume(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  const events = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output)));
  });
  // An engine reports a failed push inside a 200 stream.
  const failure = events.find((e): e is { error: string } => typeof (e as { error?: unknown }).error === "string");
  if (failure !== undefined) throw new Error(`${what}: ${failure.error}`);
}

/**
 * Puts the engine's `localImage` into the registry as `<registry>/<name>` (`name` is `repo:tag`)
 * through the Engine API, then takes the local tag away again, so that whoever runs that name
 * has the engine pull it. Returns the full name.
 */
export async function pushToRegistry(docker: Docker, registry: string, localImage: string, name: string): Promise<string> {
  const colon = name.lastIndexOf(":");
  if (colon <= 0 || name.includes("/", colon)) throw new Error(`pushToRegistry: ${name} is not repo:tag`);
  const repo = `${registry}/${name.slice(0, colon)}`;
  const tag = name.slice(colon + 1);
  const reference = `${repo}:${tag}`;
  await docker.getImage(localImage).tag({ repo, tag });
  try {
    // The tag goes apart from the name, as Docker wants it; an empty X-Registry-Auth, which Docker requires.
    await consume(docker, await docker.getImage(repo).push({ tag, authconfig: {} }), `pushing ${reference}`);
  } finally {
    await docker.getImage(reference).remove();
  }
  return reference;
}

/**
 * Takes away the names a test had pulled, each if it is there. Never by force: a pulled name may
 * share its image with a local one (busybox pushed and pulled back is the same image), and only
 * the name goes then.
 */
export async function removeImages(docker: Docker, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await docker
      .getImage(name)
      .remove()
      .catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      });
  }
}
