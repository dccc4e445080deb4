import { formatTarget, parseTarget } from "../gateway/transport/targets";
import { endpointsPath, readEndpoints } from "./config";
import type { Endpoints } from "./daemon";

// `ghostctl attach` speaks WebSocket to the daemon's HTTP listener, which only the daemon's
// endpoints file names: a gRPC --target says nothing about where that daemon serves HTTP.

/** The HTTP base URL of the daemon on `home`; `target`, when the user gave one, must be that daemon's gRPC address. */
export function daemonHttp(home: string, target: string | undefined): string {
  const endpoints = readEndpoints(home);
  if (!endpoints) {
    throw new Error(`ghostd is not running on ${home} (it has no ${endpointsPath(home)}); start it with "npm start" in the ghostd checkout (or "ghostd serve"), or point ghostctl at a running one with --home DIR`);
  }
  if (target !== undefined && !servesTarget(endpoints, target)) {
    const serves = [endpoints.grpc, endpoints.grpc_tcp].filter((address) => address !== undefined).join(" and ");
    throw new Error(`attach goes over the HTTP listener of the daemon on --home ${home}, which serves gRPC on ${serves || "nothing"}, not --target ${target}; use --home for the daemon to attach to`);
  }
  if (!endpoints.http) throw new Error(`the daemon on ${home} has no HTTP listener (it runs with --http off), and attach needs one: restart it with --http 127.0.0.1:19999`);
  return endpoints.http;
}

function servesTarget(endpoints: Endpoints, target: string): boolean {
  const normal = (address: string): string => formatTarget(parseTarget(address));
  return [endpoints.grpc, endpoints.grpc_tcp].some((address) => address !== undefined && normal(address) === normal(target));
}
