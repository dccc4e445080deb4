import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";

const execFileAsync = promisify(execFile);

/** Debian bookworm (minbase) with python3: the test apps' services, built from Debian's packages. */
export const PYTHON_IMAGE = "localhost/ghostd-test-python:bookworm";
/** busybox-static alone: for services that only need to stay up; its wget does not resolve names. */
export const BUSYBOX_IMAGE = "localhost/busybox:latest";

/** The label that says which recipe an image was built from, so a changed recipe rebuilds it. */
export const RECIPE_LABEL = "ghostd.test.recipe";

const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** How an image is made: a root tarball and the image config that import puts over it. */
interface Recipe {
  readonly name: string;
  /** Everything the tarball depends on; its hash names the cached tarball and labels the image. */
  readonly inputs: readonly string[];
  /** Dockerfile-like lines for the import API's `changes` (Podman and Docker take CMD, ENV, LABEL…). */
  readonly changes: readonly string[];
  /** Whether the tarball is worth keeping between runs (slow to make) or cheap to make again. */
  readonly cached: boolean;
  build(tarPath: string): Promise<void>;
}

function recipeKey(recipe: Recipe): string {
  return createHash("sha256").update(JSON.stringify([recipe.name, recipe.inputs, recipe.changes])).digest("hex").slice(0, 16);
}

/**
 * Where built root tarballs are kept between runs: GHOSTD_TEST_IMAGE_CACHE, else the machine's
 * cache as root (CI's runs share it), else the user's cache directory.
 */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GHOSTD_TEST_IMAGE_CACHE !== undefined && env.GHOSTD_TEST_IMAGE_CACHE !== "") return env.GHOSTD_TEST_IMAGE_CACHE;
  if (process.getuid?.() === 0) return "/var/cache/ghostd-test-images";
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ghostd-test-images");
}

const MMDEBSTRAP_ARGS = [
  "--quiet",
  "--variant=minbase",
  // Said, not left to the target's name: the partial file's suffix would make it a directory.
  "--format=tar",
  "--include=python3",
  // No test reads documentation or translations, and they would be tens of MB of every copy of the image.
  "--dpkgopt=path-exclude=/usr/share/doc/*",
  "--dpkgopt=path-exclude=/usr/share/man/*",
  "--dpkgopt=path-exclude=/usr/share/locale/*",
  "bookworm",
];

const pythonRecipe: Recipe = {
  name: PYTHON_IMAGE,
  inputs: MMDEBSTRAP_ARGS,
  changes: [`ENV ${PATH_ENV}`, "ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]'],
  cached: true,
  async build(tarPath) {
    await runTool("mmdebstrap", [...MMDEBSTRAP_ARGS, tarPath], "Debian package mmdebstrap", 15 * 60_000);
  },
};

const BUSYBOX = "/bin/busybox";

const busyboxRecipe: Recipe = {
  name: BUSYBOX_IMAGE,
  inputs: [BUSYBOX],
  changes: [`ENV ${PATH_ENV}`, 'CMD ["/bin/sh"]'],
  cached: false,
  async build(tarPath) {
    const root = mkdtempSync(join(tmpdir(), "ghostd-busybox-"));
    try {
      mkdirSync(join(root, "bin"));
      for (const dir of ["etc", "tmp", "proc", "dev", "root"]) mkdirSync(join(root, dir));
      copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
      const { stdout } = await execFileAsync(BUSYBOX, ["--list"]);
      for (const applet of stdout.split("\n").filter((a) => a !== "" && a !== "busybox")) symlinkSync("busybox", join(root, "bin", applet));
      writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
      writeFileSync(join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
      await runTool("tar", ["-C", root, "-cf", tarPath, "."], "Debian package tar", 60_000);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

async function runTool(command: string, args: readonly string[], provider: string, timeout: number): Promise<void> {
  try {
    const run = execFileAsync(command, args, { timeout, maxBuffer: 16 * 1024 * 1024 });
    // Closed at once: mmdebstrap reads apt sources from a stdin that is not a terminal.
    run.child.stdin?.end();
    await run;
  } catch (err) {
    const detail = err as { code?: unknown; stderr?: string };
    if (detail.code === "ENOENT") throw new Error(`${command} is missing (${provider}; scripts/container-engine.sh installs it)`, { cause: err });
    throw new Error(`${command} ${args.join(" ")} failed: ${(detail.stderr ?? String(err)).trim().split("\n").slice(-10).join("\n")}`, { cause: err });
  }
}

/** The recipe's root tarball, from the cache when an earlier run made it. */
async function rootTarball(recipe: Recipe, key: string): Promise<{ path: string; temporary: boolean }> {
  const dir = recipe.cached ? imageCacheDir() : mkdtempSync(join(tmpdir(), "ghostd-image-"));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${recipe.name.replace(/[^a-z0-9.-]+/gi, "_")}-${key}.tar`);
  if (existsSync(path) && statSync(path).isFile() && statSync(path).size > 0) return { path, temporary: false };
  // Built beside its final name and renamed: a run that dies midway leaves no half tarball behind.
  const partial = `${path}.${process.pid}.partial`;
  try {
    await recipe.build(partial);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return { path, temporary: !recipe.cached };
}

/** Imports a root tarball as `name` through the Engine API, reading the progress to its end. */
async function importTarball(docker: Docker, tarPath: string, name: string, changes: readonly string[]): Promise<void> {
  // The tag goes in `repo`: Docker takes it there, and Podman 4.3 ignores a separate `tag`.
  const stream = await docker.importImage(tarPath, { repo: name, changes });
  const events = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output)));
  });
  // The engine reports a failed import inside a 200 stream, not by its status.
  const failure = events.find((e): e is { error: string } => typeof (e as { error?: unknown }).error === "string");
  if (failure !== undefined) throw new Error(`importing ${name}: ${failure.error}`);
}

async function recipeOf(docker: Docker, name: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(name).inspect();
    // An image made some other way (by hand, by another tool) has no label: its recipe is unknown.
    const labels = info.Config.Labels as Record<string, string> | null | undefined;
    return labels?.[RECIPE_LABEL] ?? "";
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

async function ensure(docker: Docker, recipe: Recipe, acceptUnlabelled: boolean): Promise<string> {
  const key = recipeKey(recipe);
  const present = await recipeOf(docker, recipe.name);
  if (present === key || (present === "" && acceptUnlabelled)) return recipe.name;
  const started = Date.now();
  const tarball = await rootTarball(recipe, key);
  const built = Date.now();
  try {
    await importTarball(docker, tarball.path, recipe.name, [...recipe.changes, `LABEL ${RECIPE_LABEL}=${key}`]);
  } finally {
    if (tarball.temporary) rmSync(tarball.path, { force: true });
  }
  const imported = await recipeOf(docker, recipe.name);
  if (imported !== key) throw new Error(`the engine imported ${recipe.name} but reports recipe ${imported ?? "(no such image)"}, not ${key}`);
  // Said in the test output: minutes spent here explain a slow CI run.
  console.log(`      ${recipe.name}: root tarball ${((built - started) / 1000).toFixed(1)} s, import ${((Date.now() - built) / 1000).toFixed(1)} s (${tarball.path})`);
  return recipe.name;
}

/**
 * Makes sure the engine has PYTHON_IMAGE as the current recipe builds it: bookworm minbase with
 * python3, made by mmdebstrap (minutes; the tarball is cached, see imageCacheDir) and imported.
 * Returns the image's name.
 */
export function ensurePythonImage(docker: Docker): Promise<string> {
  return ensure(docker, pythonRecipe, false);
}

/**
 * Makes sure the engine has BUSYBOX_IMAGE, made from this machine's busybox-static when missing.
 * One made elsewhere under that name (the shared engine script's) is taken as it is.
 */
export function ensureBusyboxImage(docker: Docker): Promise<string> {
  return ensure(docker, busyboxRecipe, true);
}
