import { get } from "./api.js";
import { byId, el } from "./dom.js";

interface Discovery {
  readonly version: string;
  readonly endpoints: readonly string[];
}

interface OpenApiDocument {
  readonly info: { readonly title: string; readonly version: string };
}

/**
 * What this listener says about the daemon. The Host API (one Unix socket per VM, with each
 * VM's guest agent health) is not served over HTTP on this listener, and a browser cannot open
 * a Unix socket: the page shows that rather than reach the VMs another way than a script would.
 */
export class VmsView {
  private readonly info = byId("vm-info");

  async refresh(): Promise<void> {
    const started = performance.now();
    const [discovery, openapi] = await Promise.all([get<Discovery>("/api/v2"), get<OpenApiDocument>("/openapi.json")]);
    const latency = performance.now() - started;
    const facts = el(
      "dl",
      {},
      el("dt", {}, "daemon"),
      el("dd", { "data-health": "ok" }, `answering (${latency.toFixed(0)} ms)`),
      el("dt", {}, "release"),
      el("dd", {}, openapi.info.version),
      el("dt", {}, "Terminal API"),
      el("dd", {}, `v${discovery.version}, ${String(discovery.endpoints.length)} endpoints`),
    );
    const note = el(
      "p",
      { class: "note" },
      "This listener does not list VMs. Each VM's Host API, with its guest agent's health (GET /health), is a Unix socket ",
      el("code", {}, "<vm>.GhostVM.sock"),
      " in the daemon's api directory, which a browser cannot open; ",
      el("code", {}, "ghostctl"),
      " and scripts reach it there.",
    );
    this.info.replaceChildren(el("h2", {}, openapi.info.title), facts, note);
  }
}
