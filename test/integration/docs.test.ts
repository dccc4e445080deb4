import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { contractDescriptorSet, packageRoot } from "../../cli/package-info";
import { settingsTableMarkdown } from "../../cli/settings/markdown";
import { toolListMarkdown } from "../../gateway/mcp/tool-list";
import { routeListMarkdown } from "../../gateway/surfaces/route-list";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";

const execFileAsync = promisify(execFile);

interface Example {
  readonly file: string;
  readonly command: string;
  readonly expected: string;
}

/** The first Markdown table under `heading` in `file`, or "" when there is none. */
function tableUnder(file: string, heading: string): string {
  const lines = readFileSync(join(packageRoot, file), "utf8").split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) return "";
  const first = lines.findIndex((line, i) => i > start && line.startsWith("|"));
  if (first < 0) return "";
  const end = lines.findIndex((line, i) => i > first && !line.startsWith("|"));
  return `${lines.slice(first, end < 0 ? undefined : end).join("\n")}\n`;
}

/** Every ```sh example block followed by a ```text block of its expected output. */
function examples(): Example[] {
  const files = ["README.md", ...readdirSync(join(packageRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];
  const found: Example[] = [];
  for (const file of files) {
    const text = readFileSync(join(packageRoot, file), "utf8");
    for (const match of text.matchAll(/```sh example\n([\s\S]*?)```\s*```text\n([\s\S]*?)```/g)) {
      found.push({ file, command: match[1] ?? "", expected: (match[2] ?? "").trim() });
    }
  }
  return found;
}

describe("documentation", () => {
  it("lists the HTTP routes as the gateway builds them (docs/http-routes.md is not stale)", () => {
    const committed = readFileSync(join(packageRoot, "docs", "http-routes.md"), "utf8");
    assert.equal(committed, routeListMarkdown(loadContract(contractDescriptorSet())), "run: node dist/cli/ghostctl.js routes > docs/http-routes.md");
  });

  it("lists the MCP tools as the contract marks them (docs/mcp.md's table is not stale)", () => {
    const text = readFileSync(join(packageRoot, "docs", "mcp.md"), "utf8");
    const table = /<!-- tools: [^\n]*-->\n([\s\S]*?)<!-- end of tools -->/.exec(text)?.[1];
    assert.equal(table, toolListMarkdown(loadContract(contractDescriptorSet())), "run: node dist/cli/ghostctl.js mcp --list, and put its table in docs/mcp.md");
  });

  it("lists the settings as cli/settings/schema.ts declares them (README.md's Configuration table is not stale)", () => {
    assert.equal(tableUnder("README.md", "## Configuration"), settingsTableMarkdown(), "run: cli/ghostd settings, and put its table in README.md");
  });

  it("lists the terminal settings as the schema declares them (docs/terminal-api.md is not stale)", () => {
    const names = ["window-size", "cell-size", "scrollback", "shell"];
    assert.equal(tableUnder(join("docs", "terminal-api.md"), "## Configuration"), settingsTableMarkdown(names), `run: cli/ghostd settings ${names.join(" ")}`);
  });

  describe("examples run as written against a real daemon", () => {
    let daemon: DaemonProcess;
    before(async () => {
      // The examples say what the process runtime does, engine or not (docs/supervisor.md says so).
      daemon = await spawnDaemon({ args: ["--runtime", "process"] });
    });
    after(async () => {
      await daemon.stop();
      daemon.cleanup();
    });

    const all = examples();
    it("has examples for the Terminal API, the Host API, the supervisor, snapshots and gRPC", () => {
      const commands = all.map((e) => e.command).join("\n");
      for (const needle of ["/api/v2/", "GhostVM.sock", "/v1/projects", "ghostctl snapshot save", "ghostctl duplicate", "ghostctl call"]) assert.ok(commands.includes(needle), needle);
    });

    for (const example of all) {
      it(`${example.file}: ${example.command.trim().split("\n")[0] ?? ""}`, async () => {
        const http = new URL(daemon.endpoints.http ?? "").host;
        // Only the daemon's place changes: the examples use the default port and home.
        const command = example.command.replaceAll("127.0.0.1:19999", http).replaceAll("~/.local/share/ghostd", daemon.home);
        const { stdout } = await execFileAsync("bash", ["-euo", "pipefail", "-c", command], {
          cwd: packageRoot,
          env: { ...process.env, GHOSTD_HOME: daemon.home },
        });
        assert.equal(stdout.trim(), example.expected);
      });
    }
  });
});
