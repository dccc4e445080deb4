import type Docker from "dockerode";
import type { PullPolicy, ServicePlan } from "../../plan";
import { supervisorError } from "../../reasons";
import { formatSize } from "./pull-lines";
import { engineReason } from "./task";

/** A pull's progress as the engine streams it, one event at a time. */
export interface PullEvent {
  readonly status?: string;
  /** The layer's short id (Docker's `Pulling from` and Podman's last event give others). */
  readonly id?: string;
  readonly progress?: string;
  /** Bytes so far of the layer's current step, when the engine tells them. */
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

export type PullProgress = (image: string, event: PullEvent) => void;

/** Who hears of each pull: its start, the engine's events, and how it ended. */
export interface PullObserver {
  started(image: string): void;
  event(image: string, event: PullEvent): void;
  /** `detail`: the digest and size pulled, when the engine tells them. */
  pulled(image: string, detail: string | undefined): void;
  failed(image: string, reason: string): void;
}

/** What an image needs before its services start: to be pulled, to be there already, or nothing. */
export type ImageNeed = "pull" | "present" | "none";

/**
 * What the pull policy asks of an image that is (or is not) there: `always` pulls, `missing`
 * pulls only what is not there, `never` needs it there. (`build` is a build's, refused before.)
 */
export function imageNeed(policy: PullPolicy | undefined, present: boolean): ImageNeed {
  if (policy === "always") return "pull";
  if (present) return "none";
  return policy === "never" ? "present" : "pull";
}

/** The images a plan's services run, each once, with the strictest policy any of its services gives it. */
export function imagesOf(services: readonly ServicePlan[]): Map<string, PullPolicy> {
  const images = new Map<string, PullPolicy>();
  const rank: Record<PullPolicy, number> = { never: 0, missing: 1, build: 1, always: 2 };
  for (const service of services) {
    // A built image is made, never pulled.
    if (service.image === undefined || service.imageBuild !== undefined) continue;
    const policy = service.pullPolicy ?? "missing";
    const before = images.get(service.image);
    if (before === undefined || rank[policy] > rank[before]) images.set(service.image, policy);
  }
  return images;
}

export async function imagePresent(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Pulls an image, telling its progress; fails with the engine's reason. An engine may end the
 * stream of a failed pull without an HTTP error (Podman does), with the error as its last event.
 */
export async function pullImage(docker: Docker, image: string, progress: PullProgress): Promise<void> {
  const stream = await docker.pull(image);
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: PullEvent) => {
        if (event.error !== undefined) failure = event.errorDetail?.message ?? event.error;
        progress(image, event);
      },
    );
  });
  if (failure !== undefined) throw new Error(failure);
}

/**
 * Pulls what the services' images need by their pull policies; says which it pulled. Every image
 * that cannot be had fails the whole preparation as IMAGE_PULL_FAILED, naming its services and
 * the engine's reason.
 */
export async function prepareImages(docker: Docker, services: readonly ServicePlan[], observer: PullObserver, signal?: AbortSignal): Promise<string[]> {
  const pulled: string[] = [];
  const failures: string[] = [];
  const failed: string[] = [];
  for (const [image, policy] of imagesOf(services)) {
    signal?.throwIfAborted();
    const users = services.filter((s) => s.image === image).map((s) => s.name);
    const problem = await haveImage(docker, image, policy, observer).then(
      (didPull) => {
        if (didPull) pulled.push(image);
        return undefined;
      },
      (err: unknown) => engineReason(err),
    );
    if (problem === undefined) continue;
    failures.push(`${users.join(", ")}: image ${image}: ${problem}`);
    failed.push(...users);
  }
  if (failures.length > 0) throw supervisorError("IMAGE_PULL_FAILED", failures.join("; "), { services: failed.join(",") });
  return pulled;
}

/** Makes sure the image is there by its policy; whether it pulled it. */
async function haveImage(docker: Docker, image: string, policy: PullPolicy, observer: PullObserver): Promise<boolean> {
  const need = imageNeed(policy, await imagePresent(docker, image));
  if (need === "none") return false;
  if (need === "present") throw new Error("it is not on this machine, and pull_policy: never forbids a pull");
  observer.started(image);
  let digest: string | undefined;
  try {
    await pullImage(docker, image, (name, event) => {
      // Docker says which manifest it pulled; Podman does not.
      digest = /^Digest: (sha256:[0-9a-f]{64})$/.exec(event.status ?? "")?.[1] ?? digest;
      observer.event(name, event);
    });
  } catch (err) {
    observer.failed(image, engineReason(err));
    throw err;
  }
  observer.pulled(image, await pulledDetail(docker, image, digest));
  return true;
}

/**
 * `sha256:…, 1.2 MB`: the manifest's digest (the stream's, else the one the engine has for the
 * name) and the image's size; what of it the engine can tell. Podman lists every digest of an
 * image under each of its names, so more than one for the name tells none.
 */
export async function pulledDetail(docker: Docker, image: string, streamDigest?: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(image).inspect();
    const repo = repositoryOf(image);
    // An image without a registry's digest may have null here, whatever the typings say.
    const known = ((info.RepoDigests as string[] | null) ?? []).filter((d) => d.startsWith(`${repo}@`)).map((d) => d.slice(repo.length + 1));
    const digest = streamDigest ?? (known.length === 1 ? known[0] : undefined);
    return [digest, formatSize(info.Size)].filter((part) => part !== undefined).join(", ");
  } catch {
    return streamDigest;
  }
}

/** `host:5000/app:1` → `host:5000/app`: the name without its tag or digest. */
export function repositoryOf(image: string): string {
  const name = image.split("@")[0] ?? image;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}
