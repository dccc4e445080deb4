import assert from "node:assert/strict";
import { homedir } from "node:os";
import { checkVmName, ConfigError, parseByteSize, parseListen, resolveHome } from "../../cli/config";
import { isLoopback } from "../../gateway/surfaces/local-only";
import { formatTarget, parseTarget, TargetError } from "../../gateway/transport/targets";

describe("configuration", () => {
  it("resolves GHOSTD_HOME, then XDG_DATA_HOME, then ~/.local/share", () => {
    assert.equal(resolveHome("/flag", { GHOSTD_HOME: "/env" }), "/flag");
    assert.equal(resolveHome(undefined, { GHOSTD_HOME: "/env", XDG_DATA_HOME: "/xdg" }), "/env");
    assert.equal(resolveHome(undefined, { XDG_DATA_HOME: "/xdg" }), "/xdg/ghostd");
    assert.equal(resolveHome(undefined, {}), `${homedir()}/.local/share/ghostd`);
  });

  it("parses listen addresses and off", () => {
    assert.deepEqual(parseListen("127.0.0.1:19999", "--http"), { host: "127.0.0.1", port: 19999 });
    assert.deepEqual(parseListen("[::1]:0", "--http"), { host: "::1", port: 0 });
    assert.equal(parseListen("off", "--http"), undefined);
    for (const bad of ["19999", "host:", "host:70000", ":80"]) assert.throws(() => parseListen(bad, "--http"), ConfigError, bad);
  });

  it("parses sizes", () => {
    assert.equal(parseByteSize("1048576", "x"), 1048576);
    assert.equal(parseByteSize("512k", "x"), 512 * 1024);
    assert.equal(parseByteSize("4MiB", "x"), 4 * 1024 * 1024);
    assert.throws(() => parseByteSize("lots", "x"), ConfigError);
  });

  it("accepts safe VM names only", () => {
    assert.equal(checkVmName("dev-1.local"), "dev-1.local");
    for (const bad of ["", "../x", "a/b", ".hidden", "x".repeat(65)]) assert.throws(() => checkVmName(bad), ConfigError, bad);
  });

  it("knows loopback names", () => {
    for (const host of ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) assert.ok(isLoopback(host), host);
    for (const host of ["0.0.0.0", "10.0.0.1", "example.com", "localhost.example.com", "::", "128.0.0.1"]) assert.ok(!isLoopback(host), host);
  });

  it("parses upstream targets", () => {
    assert.deepEqual(parseTarget("unix:/run/g.sock"), { kind: "unix", path: "/run/g.sock" });
    assert.deepEqual(parseTarget("unix:///run/g.sock"), { kind: "unix", path: "/run/g.sock" });
    assert.deepEqual(parseTarget("127.0.0.1:5000"), { kind: "tcp", host: "127.0.0.1", port: 5000 });
    assert.deepEqual(parseTarget("tcp:[::1]:5000"), { kind: "tcp", host: "::1", port: 5000 });
    assert.deepEqual(parseTarget("fc-vsock:/var/fc/v.sock:1024"), { kind: "fc-vsock", path: "/var/fc/v.sock", port: 1024 });
    assert.equal(formatTarget(parseTarget("tcp:[::1]:5000")), "[::1]:5000");
    for (const bad of ["unix:relative.sock", "nohost", "h:99999", "fc-vsock:rel:1", "fc-vsock:/p:x"]) assert.throws(() => parseTarget(bad), TargetError, bad);
  });
});
