import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { ConfigError } from "../../cli/config";
import { addSettings } from "../../cli/settings/commander";
import { settingsTableMarkdown } from "../../cli/settings/markdown";
import { readSettings, SETTINGS, type Flags } from "../../cli/settings/schema";
import { ALL_MODES, type Mode } from "../../cli/settings/setting";
import { tempDir } from "../helpers/tmp";

const all = Object.values(SETTINGS);

/** Parses `argv` as `ghostd <mode>` would, with `env` as the only GHOSTD_ variables. */
function commanderFlags(mode: Mode, argv: readonly string[], env: Record<string, string> = {}): Flags {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith("GHOSTD_")) Reflect.deleteProperty(process.env, key);
  Object.assign(process.env, env);
  try {
    const command = addSettings(new Command(mode), mode)
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    command.parse(argv, { from: "user" });
    return command.opts<Flags>();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) Reflect.deleteProperty(process.env, key);
    Object.assign(process.env, saved);
  }
}

function flagsOf(mode: Mode): string[] {
  return all.filter((s) => s.commands.includes(mode)).map((s) => s.name);
}

describe("settings schema", () => {
  it("declares each flag and variable once, keyed by commander's name for the flag", () => {
    for (const field of ["name", "env", "attribute"] as const) {
      const values = all.map((s) => s[field]);
      assert.deepEqual(values.filter((v, i) => values.indexOf(v) !== i), [], field);
    }
    for (const [key, setting] of Object.entries(SETTINGS)) assert.equal(setting.attribute, key);
    for (const setting of all) assert.match(setting.env, /^GHOSTD_[A-Z_]+$/, setting.name);
  });

  it("gives each command the flags it had, and agent --allow-remote for its --grpc-tcp", () => {
    const server = ["--grpc-tcp", "--grpc-keepalive", "--grpc-idle-timeout", "--exec-output-limit", "--window-size", "--cell-size", "--scrollback", "--shell", "--port-range", "--sandbox", "--runtime", "--service-uid", "--package-max-entries", "--package-max-bytes", "--package-max-file-bytes"];
    const gateway = ["--http", "--allow-remote", "--host-api-dir", "--vm", "--max-body", "--max-upload", "--client-timeout", "--config"];
    const all = ["--home", "--log-level", "--root-clients"];
    assert.deepEqual(flagsOf("serve").sort(), [...all, ...gateway, ...server, "--gateway-calls"].sort());
    assert.deepEqual(flagsOf("agent").sort(), [...all, "--allow-remote", ...server].sort());
    assert.deepEqual(flagsOf("gateway").sort(), [...all, ...gateway, "--target"].sort());
  });

  it("parses every default with the setting's own parser", () => {
    for (const setting of all.filter((s) => s.default !== undefined)) {
      assert.deepEqual(setting.read(setting.default), setting.read(undefined), setting.name);
    }
    const defaults = readSettings({});
    assert.deepEqual(defaults, {
      home: undefined,
      http: { host: "127.0.0.1", port: 19999 },
      allowRemote: false,
      rootClients: "allow",
    runtime: "auto",
      hostApiDir: undefined,
      vm: "local",
      grpcTcp: undefined,
      grpcKeepalive: 20_000,
      grpcIdleTimeout: 300_000,
      maxBody: 1024 * 1024,
      maxUpload: 64 * 1024 * 1024,
      clientTimeout: 10_000,
      execOutputLimit: 16 * 1024 * 1024,
      config: undefined,
      logLevel: "info",
      windowSize: { columns: 120, rows: 40 },
      cellSize: { width: 10, height: 20 },
      scrollback: 10_000,
      shell: undefined,
      portRange: { from: 41000, to: 41999 },
      packageMaxEntries: 10_000,
      packageMaxBytes: 1024 * 1024 * 1024,
      packageMaxFileBytes: 256 * 1024 * 1024,
      sandbox: "auto",
      serviceUid: 65532,
      target: undefined,
      gatewayCalls: "in-process",
    });
  });

  it("reads what commander collects: the flag, else the variable, else the default", () => {
    for (const mode of ALL_MODES) assert.deepEqual(readSettings(commanderFlags(mode, [])), readSettings({}), mode);
    assert.equal(readSettings(commanderFlags("serve", [], { GHOSTD_MAX_BODY: "2M" })).maxBody, 2 * 1024 * 1024);
    assert.equal(readSettings(commanderFlags("serve", ["--max-body", "3M"], { GHOSTD_MAX_BODY: "2M" })).maxBody, 3 * 1024 * 1024);
    assert.equal(readSettings(commanderFlags("gateway", [], { GHOSTD_TARGET: "unix:/a" })).target, "unix:/a");
    assert.equal(readSettings(commanderFlags("gateway", ["--target", "unix:/b"], { GHOSTD_TARGET: "unix:/a" })).target, "unix:/b");
    assert.equal(readSettings(commanderFlags("serve", [], { GHOSTD_GATEWAY_CALLS: "grpc" })).gatewayCalls, "grpc");
    // A switch's variable turns it on whatever it says.
    assert.equal(readSettings(commanderFlags("gateway", [], { GHOSTD_ALLOW_REMOTE: "0" })).allowRemote, true);
    assert.equal(readSettings(commanderFlags("gateway", ["--allow-remote"])).allowRemote, true);
  });

  it("leaves a command's missing flags at their defaults, even with the variable set", () => {
    const agent = readSettings(commanderFlags("agent", [], { GHOSTD_MAX_BODY: "not a size", GHOSTD_TARGET: "unix:/a" }));
    assert.equal(agent.maxBody, 1024 * 1024);
    assert.equal(agent.target, undefined);
    const gateway = readSettings(commanderFlags("gateway", [], { GHOSTD_SCROLLBACK: "many" }));
    assert.equal(gateway.scrollback, 10_000);
  });

  it("refuses a --sandbox outside its choices, from the flag or the variable", () => {
    assert.throws(() => commanderFlags("serve", ["--sandbox", "on"]), /Allowed choices are auto, off/);
    assert.throws(() => commanderFlags("agent", [], { GHOSTD_SANDBOX: "always" }), /Allowed choices are auto, off/);
    assert.equal(readSettings(commanderFlags("serve", [], { GHOSTD_SANDBOX: "off" })).sandbox, "off");
  });

  it("refuses a --root-clients outside allow and refuse", () => {
    assert.throws(() => commanderFlags("serve", ["--root-clients", "yes"]), /Allowed choices are allow, refuse/);
    assert.equal(readSettings(commanderFlags("agent", [], { GHOSTD_ROOT_CLIENTS: "refuse" })).rootClients, "refuse");
  });

  it("says what is wrong with a value as it always has", () => {
    const refused: [Flags, string][] = [
      [{ http: "19999" }, '--http "19999" is not HOST:PORT or off'],
      [{ vm: "../x" }, 'VM name "../x" must be letters, digits, ".", "_" or "-" (at most 64)'],
      [{ maxBody: "lots" }, '--max-body "lots" is not a size (1048576, 512k, 4M)'],
      [{ maxUpload: "1T" }, '--max-upload "1T" is not a size (1048576, 512k, 4M)'],
      [{ clientTimeout: "3600001" }, '--client-timeout "3600001" is not a whole number up to 3600000'],
      [{ execOutputLimit: "-1" }, '--exec-output-limit "-1" is not a size (1048576, 512k, 4M)'],
      [{ windowSize: "120" }, '--window-size "120" is not two positive numbers like 120x40'],
      [{ cellSize: "0x20" }, '--cell-size "0x20" is not two positive numbers like 120x40'],
      [{ scrollback: "1e3" }, '--scrollback "1e3" is not a whole number up to 1000000'],
      [{ portRange: "42000-41000" }, '--port-range "42000-41000" is not FROM-TO with ports from 1 to 65535'],
      [{ grpcKeepalive: "10" }, '--grpc-keepalive "10" is less than 100 ms'],
      [{ grpcIdleTimeout: "soon" }, '--grpc-idle-timeout "soon" is not a whole number up to 86400000'],
    ];
    for (const [flags, message] of refused) assert.throws(() => readSettings(flags), (err: unknown) => err instanceof ConfigError && err.message === message, message);
  });

  it("writes one README row per setting: placeholders in capitals, a one-command flag marked, the default in code", () => {
    const rows = settingsTableMarkdown().trimEnd().split("\n").slice(2);
    assert.equal(rows.length, all.length);
    assert.equal(rows.find((row) => row.startsWith("| `--window-size")), "| `--window-size COLSxROWS` | `GHOSTD_WINDOW_SIZE` | `120x40` | size of a terminal window in cells |");
    assert.ok(rows.find((row) => row.startsWith("| `--target ADDRESS` (gateway only) | `GHOSTD_TARGET` | the home's socket |")));
    assert.deepEqual(settingsTableMarkdown(["sandbox", "vm"]).trimEnd().split("\n").slice(2).map((row) => row.split(" | ")[0]), ["| `--vm NAME`", "| `--sandbox MODE`"]);
    assert.throws(() => settingsTableMarkdown(["shell", "colour"]), (err: unknown) => err instanceof ConfigError && err.message === "no setting --colour");
  });

  it("reads the VMs of --config, and none from an empty one", () => {
    const dir = tempDir();
    const file = join(dir.path, "vms.yaml");
    writeFileSync(file, "vms:\n  - name: dev\n    target: unix:/run/dev.sock\n");
    assert.deepEqual(readSettings({ config: file }).config, [{ name: "dev", target: "unix:/run/dev.sock" }]);
    assert.deepEqual(readSettings({ config: "" }).config, []);
    dir.remove();
  });
});
