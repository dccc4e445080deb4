import assert from "node:assert/strict";
import { join } from "node:path";
import { containerDaemon } from "../helpers/container-daemon";
import { containersOf } from "../helpers/engine";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../helpers/images";
import { composeManifest, tailLogs, writePackage } from "../helpers/supervisor";
import { waitFor } from "../helpers/wait";

/** compose `build:` on a real engine: what of the context is sent, and the image a build makes when the service names one. */
describe("container builds (a real engine)", function () {
  this.timeout(180_000);
  const env = containerDaemon({ portRange: "47500-47599", images: [ensureBusyboxImage] });
  const { ensure, open, start, stop, remove } = env.calls;
  /** Image names this run makes, unique to it: removed in `after` whoever made them. */
  const named = (name: string): string => `localhost/ghostd-test-${name}-${process.pid}:1`;

  async function project(name: string, compose: string, files: Record<string, string>): Promise<string> {
    const projectId = env.track(`cbuild-${process.pid}-${name}`);
    const path = writePackage(join(env.work.path, name), { "vibe.yaml": composeManifest(`dev.test.${name}`), "compose.yaml": compose, ...files });
    await ensure({ projectId, appId: `dev.test.${name}`, packagePath: path, statePath: join(env.work.path, `${name}-state`) });
    return projectId;
  }

  const imageId = (name: string): Promise<string | undefined> =>
    env.docker
      .getImage(name)
      .inspect()
      .then(
        (info) => info.Id,
        () => undefined,
      );

  /** The lines a service wrote, once `line` is among them. */
  const output = (projectId: string, service: string, line: string) =>
    waitFor(`${service} to write ${line}`, async () => {
      const lines = (await tailLogs(env.client, { projectId, serviceName: service })).map((e) => e.line);
      return lines.includes(line) && lines;
    });

  it(".dockerignore: what it excludes never reaches the engine; the Dockerfile and .dockerignore go though it lists them", async () => {
    // RUN --mount binds the context as the engine received it (COPY applies .dockerignore again on
    // the engine's side, so it alone cannot tell); each check fails the build, and so the open.
    const dockerfile = [
      `FROM ${BUSYBOX_IMAGE}`,
      "COPY . /copied",
      "RUN --mount=type=bind,target=/ctx ls -laR /ctx && test ! -e /ctx/secret.key && test ! -e /ctx/data/big.bin && test ! -e /ctx/build.log && test -e /ctx/data/keep.txt && test -e /ctx/src/main.sh && test -e /ctx/Dockerfile",
      "RUN test ! -e /copied/secret.key && test -e /copied/src/main.sh",
      'CMD ["sh", "/copied/src/main.sh"]',
      "",
    ].join("\n");
    const ignore = "secret.key\n*.log\ndata\n!data/keep.txt\nDockerfile\n.dockerignore\n";
    const id = await project("ignored", "services:\n  app:\n    build: ./app\n    stop_signal: SIGKILL\n", {
      "app/Dockerfile": dockerfile,
      "app/.dockerignore": ignore,
      "app/secret.key": "-----BEGIN PRIVATE KEY-----\n",
      "app/build.log": "noise\n",
      "app/data/big.bin": "x".repeat(8 * 1024 * 1024),
      "app/data/keep.txt": "kept\n",
      "app/src/main.sh": "cat /copied/data/keep.txt; exec sleep 600\n",
    });
    await open(id);
    await start(id);
    await output(id, "app", "kept");
    await stop(id);
    await remove(id);
  });

  it("build with image: tags the build with that name, runs it, and the delete removes it", async () => {
    const image = named("built");
    env.trackImage(image);
    const dockerfile = `FROM ${BUSYBOX_IMAGE}\nRUN echo built-here > /marker\nCMD ["sh", "-c", "cat /marker; exec sleep 600"]\n`;
    const id = await project("namedbuild", `services:\n  app:\n    image: ${image}\n    build: .\n    stop_signal: SIGKILL\n`, { Dockerfile: dockerfile });
    await open(id);
    const built = await env.docker.getImage(image).inspect();
    assert.equal(built.Config.Labels["ghostd.project"], id, "labelled as the project's, so its delete finds it");
    assert.deepEqual(built.RepoTags, [image], "tagged with the service's image: name alone");
    await start(id);
    await output(id, "app", "built-here");
    assert.equal((await containersOf(env.docker, id)).get("app")?.Image, image, "the container runs the image: name");
    await stop(id);
    const removed = await remove(id);
    assert.ok(removed.resourcesRemoved.includes(`image ${image}`), removed.resourcesRemoved.join("\n"));
    assert.equal(await imageId(image), undefined, "the built image is gone");
  });

  it("build with image: an image of that name already there is used (pull_policy missing), kept by the delete; pull_policy build builds anew", async () => {
    const image = named("present");
    env.trackImage(image);
    await env.docker.getImage(BUSYBOX_IMAGE).tag({ repo: image.slice(0, image.lastIndexOf(":")), tag: "1" });
    const before = await imageId(image);
    // A build would fail: the open succeeds only if it uses the image that is there.
    const unused = await project("present", `services:\n  app:\n    image: ${image}\n    build: .\n    command: [sh, -c, "echo from the image that was there; exec sleep 600"]\n    stop_signal: SIGKILL\n`, {
      Dockerfile: `FROM ${BUSYBOX_IMAGE}\nRUN echo this build must not run && exit 3\n`,
    });
    await open(unused);
    assert.equal(await imageId(image), before);
    await start(unused);
    await output(unused, "app", "from the image that was there");
    await stop(unused);
    const notes = (await tailLogs(env.client, { projectId: unused, serviceName: "app" })).map((e) => e.line);
    assert.ok(notes.some((l) => l.includes(`using image ${image}, which is there already`)), notes.join("\n"));
    const removed = await remove(unused);
    assert.ok(!removed.resourcesRemoved.some((r) => r.startsWith("image ")), removed.resourcesRemoved.join("\n"));
    assert.equal(await imageId(image), before, "an image ghostd did not build is not ghostd's to delete");

    const rebuilt = await project("rebuilt", `services:\n  app:\n    image: ${image}\n    build: .\n    pull_policy: build\n    stop_signal: SIGKILL\n`, {
      Dockerfile: `FROM ${BUSYBOX_IMAGE}\nRUN echo rebuilt > /marker\nCMD ["sh", "-c", "cat /marker; exec sleep 600"]\n`,
    });
    await open(rebuilt);
    assert.notEqual(await imageId(image), before, "the name now names the new build");
    await start(rebuilt);
    await output(rebuilt, "app", "rebuilt");
    await stop(rebuilt);
    await remove(rebuilt);
    assert.equal(await imageId(image), undefined);
    assert.ok(await imageId(BUSYBOX_IMAGE), "the image that had the name before is untouched");
  });
});
