import type { ReceiveFileRequest, ReceiveFileResponse } from "../../../generated/ghostd/agent/v1/agent";
import { agentError } from "../reasons";
import type { ReceivedFiles } from "./received-files";

/** One ReceiveFile call: the first request names the file, the rest carry its bytes. */
export async function receiveCall(files: ReceivedFiles, requests: AsyncIterator<ReceiveFileRequest>, signal: AbortSignal): Promise<ReceiveFileResponse> {
  const first = await requests.next();
  const opening: ReceiveFileRequest | undefined = first.done ? undefined : first.value;
  if (!opening?.open) throw agentError("invalid_argument", "the first message of ReceiveFile must be `open` with the file name");
  const received = await files.receive(opening.open, chunksOf(opening.data, requests), signal);
  return { path: received.path, size: received.size, batchPaths: [...(received.batch?.paths ?? [])], batchFiles: received.batch?.files ?? 0 };
}

async function* chunksOf(first: Buffer, requests: AsyncIterator<ReceiveFileRequest>): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  for (let next = await requests.next(); !next.done; next = await requests.next()) {
    if (next.value.data.length > 0) yield next.value.data;
  }
}
