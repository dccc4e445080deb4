import { TerminalsService } from "../../generated/ghostd/terminal/v1/terminal";
import { bindService, type ServiceBinding } from "../rpc/bind";

/** gRPC binding of ghostd.terminal.v1.Terminals: nothing is built yet, every method answers UNIMPLEMENTED. */
export function terminalService(): ServiceBinding {
  return bindService("ghostd.terminal.v1.Terminals", TerminalsService, {});
}
