import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EnsureProjectRequest, OpenProjectRequest, StartProjectRequest, StopProjectRequest, type LogEntry, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { composeManifest, followLogs, supervisorClient, tailLogs, unary, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

describe("security: secrets", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let work: ReturnType<typeof tempDir>;
  let counter = 0;

  before(async () => {
    work = tempDir("ghostd-sec-secrets-");
    daemon = await spawnDaemon({ args: ["--http", "off", "--port-range", "46500-46549", "--log-level", "warn"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
  });

  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  const stop = (projectId: string) => unary((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId, timeoutSeconds: 5 }), cb));

  /** An ensured and opened compose project needing `secrets`; returns its id and state path. */
  async function openProject(compose: string, files: Record<string, string>, secrets: readonly string[]): Promise<{ id: string; state: string }> {
    const id = `sec${++counter}`;
    const declared = secrets.map((name) => `  - {name: ${name}, required: true}\n`).join("");
    const path = writePackage(join(work.path, `pkg-${id}`), { "vibe.yaml": composeManifest(`dev.test.${id}`, ["data"], `secrets:\n${declared}`), "compose.yaml": compose, ...files });
    const state = join(work.path, `state-${id}`);
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: id, appId: `dev.test.${id}`, packagePath: path, statePath: state }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId: id }), cb));
    return { id, state };
  }

  describe("the logs mask a secret's encodings as they mask the secret", () => {
    /** A service printing its secret in every form a program commonly prints one. */
    const PRINTER = `
const s = process.env.API_TOKEN;
const bytes = Buffer.from(s);
const b64 = bytes.toString("base64");
const b64url = bytes.toString("base64url");
console.log("raw: " + s);
console.log("base64: " + b64);
console.log("base64 unpadded: " + b64.replace(/=+$/, ""));
console.log("base64url: " + b64url);
console.log("base64url padded: " + b64url + "=".repeat((4 - (b64url.length % 4)) % 4));
console.log("uri: " + encodeURIComponent(s));
console.log("form: " + new URLSearchParams({ t: s }).toString().slice(2));
console.log("plus: " + encodeURIComponent(s).replaceAll("%20", "+"));
console.log("hex: " + bytes.toString("hex"));
console.log("query: https://example.com/?token=" + encodeURIComponent(s) + "&x=1");
console.log("basic: Basic " + Buffer.from("user:" + s).toString("base64"));
// Split in two writes in the middle of a UTF-8 character, so it arrives in two chunks.
const cut = bytes.indexOf(0xc3) + 1;
process.stdout.write(Buffer.concat([Buffer.from("split: "), bytes.subarray(0, cut)]));
setTimeout(() => {
  process.stdout.write(Buffer.concat([bytes.subarray(cut), Buffer.from("\\n")]));
  console.log("done");
  setInterval(() => undefined, 1000);
}, 300);
`;

    it("never shows the secret raw, base64, base64url, URL- or hex-encoded in GetProjectLogs, followed or not", async () => {
      // "?>?~~~" encodes to "Pz4/fn5+": base64 and base64url differ; the space and "ü" need
      // percent-encoding, and 17 bytes leave padding.
      const secret = `?>?~~~ü x/&=${Math.random().toString(36).slice(2, 6).padEnd(4, "0")}`;
      const bytes = Buffer.from(secret);
      assert.equal(bytes.length % 3, 2, "the base64 form has padding");
      const forms = {
        raw: secret,
        base64: bytes.toString("base64"),
        base64url: bytes.toString("base64url"),
        uri: encodeURIComponent(secret),
        form: new URLSearchParams({ t: secret }).toString().slice(2),
        hex: bytes.toString("hex"),
        basic: Buffer.from(`user:${secret}`).toString("base64"),
      };
      assert.notEqual(forms.base64.replace(/=+$/, ""), forms.base64url);
      assert.notEqual(forms.uri.replaceAll("%20", "+"), forms.form);

      const { id } = await openProject(`services:\n  app:\n    command: [${JSON.stringify(process.execPath)}, print.js]\n`, { "print.js": PRINTER }, ["API_TOKEN"]);
      await unary((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: id, secrets: { API_TOKEN: secret } }), cb));
      const followed = await followLogs(client, { projectId: id, serviceName: "app" }, (entries) => entries.some((e) => e.line === "done"));
      const tailed = await tailLogs(client, { projectId: id, serviceName: "app", tailLines: 100 });
      await stop(id);

      for (const [how, entries] of [["followed", followed], ["tailed", tailed]] as const) {
        const line = (label: string): string => entries.find((e: LogEntry) => e.line.startsWith(`${label}: `))?.line ?? `no "${label}" line in ${how} logs`;
        for (const label of ["raw", "base64", "base64 unpadded", "base64url", "base64url padded", "uri", "form", "plus", "hex", "split"]) {
          assert.equal(line(label), `${label}: ***`, `${how}: ${label}`);
        }
        assert.equal(line("query"), "query: https://example.com/?token=***&x=1", how);
        // Only what encodes "user:" (and the bits it shares with the secret's first byte) stays.
        assert.match(line("basic"), /^basic: Basic [A-Za-z0-9+/]{0,8}\*\*\*[A-Za-z0-9+/]{0,2}=*$/, how);
        for (const [name, form] of Object.entries(forms)) {
          assert.ok(!entries.some((e: LogEntry) => e.line.includes(form)), `${how}: the ${name} form is in no line`);
        }
      }
      const files = filesUnder(daemon.home);
      assert.ok(files.some((file) => file.endsWith("app.log")), "the service's log file is among those checked");
      const leaks = files.filter((file) => Object.values(forms).some((form) => readFileSync(file).includes(form)));
      assert.deepEqual(leaks, [], "no file under the home holds the secret in any form");
    });
  });
});
