import type { handleUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { TerminalsService, type TerminalsServer } from "../../generated/ghostd/terminal/v1/terminal";
import type { ClipboardStore } from "../clipboard/store";
import { bidiStream, bindService, opening, serverStream, unary, type ServiceBinding } from "../rpc/bind";
import { attachCall } from "./attach-calls";
import { ThreadPtyHost } from "./pty-host/host";
import { Terminals, type TerminalSettings } from "./terminals";

export interface TerminalDeps {
  readonly logger: Logger;
  readonly settings: TerminalSettings;
  readonly clipboard: ClipboardStore;
}

/** gRPC binding of ghostd.terminal.v1.Terminals over the Terminals domain module. */
export function terminalService(deps: TerminalDeps): ServiceBinding {
  const host = new ThreadPtyHost();
  const terminals = new Terminals(deps.settings, deps.clipboard, host);
  const { logger } = deps;
  const handlers: Partial<TerminalsServer> = {
    listTerminals: unary(logger, () => ({ terminals: terminals.list() })),
    getFocusedTerminal: unary(logger, () => ({ terminal: terminals.focused() })),
    getTerminal: unary(logger, (req) => ({ terminal: terminals.get(req.id) })),
    createTerminal: unary(logger, async (req) => ({ terminal: await terminals.create(req) })),
    closeTerminal: acknowledge(logger, (req) => terminals.close(req.id)),
    focusTerminal: acknowledge(logger, (req) => terminals.focus(req.id)),
    inputText: acknowledge(logger, (req) => terminals.input(req.id, req.text, req.enter, req.paste ?? true)),
    writeOutput: acknowledge(logger, (req) => terminals.output(req.id, req.data)),
    setStatusBar: acknowledge(logger, (req) => terminals.setStatusBar(req.id, req)),
    performAction: unary(logger, async (req) => {
      await terminals.action(req.id, req.action);
      return { success: true, action: req.action };
    }),
    sendKey: unary(logger, (req) => ({ success: true, ...terminals.key(req.id, req.key, req.mods, req.action) })),
    sendMouseButton: acknowledge(logger, (req) => terminals.mouseButton(req.id, req.button, req.action, req.mods)),
    sendMousePosition: acknowledge(logger, (req) => terminals.mousePosition(req.id, req.x, req.y, req.mods)),
    sendMouseScroll: acknowledge(logger, (req) => terminals.mouseScroll(req.id, req.x, req.y, req.precision, req.momentum)),
    getScreen: unary(logger, (req) => terminals.screen(req.id)),
    getTerminalDetails: unary(logger, (req) => terminals.details(req.id, req.type, { rows: req.rows, styled: req.styled })),
    openQuickTerminal: unary(logger, async () => ({ terminals: await terminals.quickTerminal() })),
    listCommands: unary(logger, (req) => ({ commands: terminals.commands(req.terminal) })),
    listSurfaces: unary(logger, () => ({ surfaces: terminals.list() })),
    wait: unary(logger, (req, { signal }) => terminals.wait(req.id, req, signal)),
    // Opened first, so an unknown terminal fails the call before the stream opens.
    watchScreen: serverStream(logger, (req, { signal }) => opening(() => terminals.watch(req.id, req.intervalMs, signal))),
    attachTerminal: bidiStream(logger, (requests, { signal }) => attachCall(requests, signal, { find: (id) => terminals.attachable(id), logger })),
  };
  const close = async (): Promise<void> => {
    await terminals.closeAll();
    await host.close();
  };
  return bindService(TerminalsService, handlers, close);
}

/** A handler for a method whose reply only says it worked: `{ success: true }` once `fn` is done. */
function acknowledge<Req>(logger: Logger, fn: (request: Req) => void | Promise<void>): handleUnaryCall<Req, { success: boolean }> {
  return unary(logger, async (request: Req) => {
    await fn(request);
    return { success: true };
  });
}
