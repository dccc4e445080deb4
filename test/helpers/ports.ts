import { createServer, type Server } from "node:net";

/** A TCP listener on 127.0.0.1 (a given port, or any free one): something else holding a port. */
export function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1" }, () => resolve(server));
  });
}

export const portOf = (server: Server): number => (server.address() as { port: number }).port;

export const closeServer = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A port nothing listens on right now: taken from the kernel, then let go. */
export async function freePort(): Promise<number> {
  const server = await listen();
  const port = portOf(server);
  await closeServer(server);
  return port;
}
