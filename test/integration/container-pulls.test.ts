import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ServiceState } from "../../generated/ghostd/supervisor/v1/supervisor";
import { imagePresent } from "../../server/supervisor/runtime/container/images";
import { parsePullLine } from "../../server/supervisor/runtime/container/pull-lines";
import { containerDaemon } from "../helpers/container-daemon";
import { ghostctl, ghostctlOnTerminal } from "../helpers/ghostctl";
import { containersOf } from "../helpers/engine";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../helpers/images";
import { pushToRegistry } from "../helpers/registry";
import { composeManifest, failsWith, tailLogs, writePackage } from "../helpers/supervisor";

/** Pulls from the tests' registry (scripts/container-engine.sh up): images_pulled, the log's progress lines, pull_policy. */
describe("container runtime: pulls from a registry (a real engine and registry)", function () {
  this.timeout(180_000);
  const env = containerDaemon({ portRange: "47200-47399", images: [ensureBusyboxImage], registry: true });
  const { ensure, open, start, stop, remove, status } = env.calls;

  /** A busybox image only the registry has, under a name no other run uses. */
  async function registryImage(name: string): Promise<string> {
    const reference = env.trackImage(await pushToRegistry(env.docker, env.registry, BUSYBOX_IMAGE, `ghostd-test/${name}-${process.pid}-${Date.now()}:1`));
    assert.equal(await imagePresent(env.docker, reference), false, "pushToRegistry left no local name");
    return reference;
  }

  /** A project of one service `app` running `image` (sleeping), with `policy` as its pull_policy. */
  async function project(name: string, image: string, policy?: string): Promise<string> {
    const projectId = env.track(`pull-${process.pid}-${name}`);
    const compose = `services:\n  app:\n    image: ${image}\n${policy ? `    pull_policy: ${policy}\n` : ""}    command: [sleep, "600"]\n    stop_signal: SIGKILL\n`;
    const path = writePackage(join(env.work.path, name), { "vibe.yaml": composeManifest(`dev.test.${name}`), "compose.yaml": compose });
    await ensure({ projectId, appId: `dev.test.${name}`, packagePath: path, statePath: join(env.work.path, `${name}-state`) });
    return projectId;
  }

  const logLines = async (projectId: string): Promise<string[]> => (await tailLogs(env.client, { projectId })).map((e) => e.line);

  it("pulls an image only the registry has: images_pulled names it, the log tells the pull, and the project runs it", async () => {
    const image = await registryImage("only");
    const id = await project("only", image);
    const opened = await open(id);
    assert.deepEqual(opened.imagesPulled, [image]);
    assert.equal(await imagePresent(env.docker, image), true, "the engine has it now");

    const lines = (await logLines(id)).map((line) => ({ line, pull: parsePullLine(line) }));
    const pulls = lines.filter((l) => l.pull !== undefined);
    assert.deepEqual(pulls[0]?.pull, { kind: "start", image }, lines.map((l) => l.line).join("\n"));
    assert.ok(pulls.some((l) => l.pull?.kind === "layer" && l.pull.image === image), `a layer's progress:\n${lines.map((l) => l.line).join("\n")}`);
    const last = pulls.at(-1);
    assert.equal(last?.pull?.kind, "pulled", last?.line);
    assert.match(last.line, new RegExp(`^\\[ghostd\\] pulled ${image.replace(/[.]/g, "\\.")} \\((sha256:[0-9a-f]{64}, )?\\d+\\.\\d [kM]B\\)$`));
    assert.ok(pulls.length <= 12, `a small image is a handful of lines, not one per event:\n${pulls.map((l) => l.line).join("\n")}`);

    await start(id);
    assert.equal((await status(id)).services[0]?.status, ServiceState.SERVICE_STATE_RUNNING);
    assert.equal((await containersOf(env.docker, id)).get("app")?.Image, image, "the container runs the pulled image");
    await stop(id);
    await remove(id);
  });

  it("honours pull_policy: always pulls what is there, missing pulls nothing that is, never does not pull what is not", async () => {
    const image = await registryImage("policy");
    await env.docker.pull(image).then((stream) => new Promise((resolve, reject) => env.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined)))));
    assert.equal(await imagePresent(env.docker, image), true);

    const always = await project("always", image, "always");
    assert.deepEqual((await open(always)).imagesPulled, [image], "always pulls even when the image is there");
    assert.ok((await logLines(always)).includes(`[ghostd] pulling ${image}`));

    const missing = await project("missing", image, "missing");
    assert.deepEqual((await open(missing)).imagesPulled, [], "missing pulls nothing that is there");
    assert.ok(!(await logLines(missing)).some((l) => parsePullLine(l) !== undefined), "and tells of no pull");

    const absent = await registryImage("never");
    const never = await project("never", absent, "never");
    await failsWith(open(never), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", new RegExp(`^app: image ${absent.replace(/[.]/g, "\\.")}: it is not on this machine, and pull_policy: never forbids a pull$`));
    assert.equal(await imagePresent(env.docker, absent), false, "never did not pull it");
  });

  it("fails OpenProject with IMAGE_PULL_FAILED and the engine's reason for a name the registry lacks", async () => {
    const image = `${env.registry}/nope:1`;
    const id = await project("nope", image);
    await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", new RegExp(`^app: image ${image.replace(/[.]/g, "\\.")}: .*manifest unknown`));
    const failed = (await logLines(id)).map((line) => parsePullLine(line)).find((pull) => pull?.kind === "failed");
    assert.equal(failed?.image, image);
    assert.match(failed.reason, /manifest unknown/);
  });

  it("ghostctl open draws a bar for each image it pulls on a terminal, and nothing when piped", async () => {
    const home = env.daemon.home;
    const onTerminal = await registryImage("tty");
    const shown = await ghostctlOnTerminal(["--home", home, "open", await project("tty", onTerminal)]);
    assert.equal(shown.code, 0, shown.output);
    const escaped = onTerminal.replace(/[.]/g, "\\.");
    // The final bar, drawn over the ones before it (ESC[2K clears the line first).
    assert.match(shown.output, new RegExp(`\\x1b\\[2K\\[#{20}\\] 100% ${escaped}  pulled \\((sha256:[0-9a-f]{12}, )?\\d+\\.\\d [kM]B\\)\\r?\\n`), JSON.stringify(shown.output));
    assert.match(shown.output, new RegExp(`"images_pulled":\\["${escaped}"\\]`), "the response is printed as ever");

    const piped = await registryImage("piped");
    const quiet = await ghostctl(["--home", home, "open", await project("piped", piped)]);
    assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
    assert.equal(quiet.stderr, "", "no bar, no escape, nothing on a stderr that is no terminal");
    assert.deepEqual((JSON.parse(quiet.stdout) as { images_pulled: string[] }).images_pulled, [piped]);

    // A pull that fails shows as such, and ghostctl says why.
    const failed = await ghostctlOnTerminal(["--home", home, "open", await project("ttynope", `${env.registry}/nope:2`)]);
    assert.equal(failed.code, 1, failed.output);
    assert.match(failed.output, new RegExp(`\\x1b\\[2K\\[-{20}\\] {3}0% ${env.registry.replace(/[.]/g, "\\.")}/nope:2 {2}failed: \\S`), "the bar's line, cut to the terminal's width");
    assert.match(failed.output, new RegExp(`ghostctl: app: image ${env.registry.replace(/[.]/g, "\\.")}/nope:2: .*manifest unknown.*\\(UNAVAILABLE, IMAGE_PULL_FAILED`));
  });
});
