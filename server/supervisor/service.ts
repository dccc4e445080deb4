import { SupervisorService } from "../../generated/ghostd/supervisor/v1/supervisor";
import { bindService, type ServiceBinding } from "../rpc/bind";

/** gRPC binding of ghostd.supervisor.v1.Supervisor: nothing is built yet, every method answers UNIMPLEMENTED. */
export function supervisorService(): ServiceBinding {
  return bindService("ghostd.supervisor.v1.Supervisor", SupervisorService, {});
}
