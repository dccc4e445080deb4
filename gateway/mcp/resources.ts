import { create, type Message } from "@bufbuild/protobuf";
import { status as GrpcStatus, type Client, type ServiceError } from "@grpc/grpc-js";
import { McpError, type Resource } from "@modelcontextprotocol/sdk/types.js";
import { fromCallError, isServiceError } from "../transcoder/errors";
import { isObject, type JsonCodec } from "../transcoder/json-codec";
import { decodeReply, encodeRequest, firstReply, serverStreamCall, unaryCall } from "../transport/method-calls";
import type { ResourceEntry } from "./resource-table";

/** MCP's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

export interface ResourceReaderOptions {
  readonly codec: JsonCodec;
  readonly upstream: () => Client;
}

/** A resource as read: its URI, type and text. */
export interface ResourceText {
  readonly uri: string;
  readonly mimeType: string;
  readonly text: string;
}

/** Lists, reads and watches the resources of a table, through the same upstream as the tools. */
export class ResourceReader {
  constructor(
    readonly entries: readonly ResourceEntry[],
    private readonly options: ResourceReaderOptions,
  ) {}

  /** Every resource there is now: each kind's list method, called. */
  async list(): Promise<Resource[]> {
    const lists = await Promise.all(this.entries.map((entry) => this.listOf(entry)));
    return lists.flat();
  }

  async read(uri: string): Promise<ResourceText> {
    const { entry, value } = this.match(uri);
    const request = this.requestOf(entry, value);
    try {
      const reply = entry.method.methodKind === "unary" ? await unaryCall(this.options.upstream(), entry.method, request).reply : await firstOfWatch(this.options.upstream(), entry, request);
      return { uri, mimeType: entry.option.mimeType, text: this.textOf(entry, decodeReply(entry.method, reply)) };
    } catch (err) {
      throw asMcpError(err, uri);
    }
  }

  /**
   * Calls `changed` whenever the resource changes, until the returned function is called: at each
   * message of a watch after the first, or when a poll reads something new. A resource that ends
   * (its terminal closed) is told as changed once more, so a reader learns it is gone.
   */
  watch(uri: string, changed: () => void): () => void {
    const { entry, value } = this.match(uri);
    const request = this.requestOf(entry, value);
    return entry.method.methodKind === "unary" ? this.poll(uri, entry, changed) : this.follow(entry, request, changed);
  }

  private async listOf(entry: ResourceEntry): Promise<Resource[]> {
    const { method, field, key } = entry.list;
    const reply = await unaryCall(this.options.upstream(), method, encodeRequest(method, create(method.input))).reply;
    const json = this.options.codec.encode(method.output, decodeReply(method, reply));
    const items = isObject(json) ? json[this.options.codec.key(field)] : undefined;
    return (Array.isArray(items) ? items : []).flatMap((item) => {
      const id = isObject(item) ? item[this.options.codec.key(key)] : undefined;
      if (typeof id !== "string" || id === "") return [];
      const uri = entry.option.uriTemplate.replace(`{${entry.variable.name}}`, encodeURIComponent(id));
      return [{ uri, name: `${entry.option.name}: ${id}`, description: entry.option.description, mimeType: entry.option.mimeType }];
    });
  }

  private match(uri: string): { entry: ResourceEntry; value: string } {
    for (const entry of this.entries) {
      const found = entry.valueIn(uri);
      if (found !== undefined) return { entry, value: decodeURIComponent(found) };
    }
    throw new McpError(RESOURCE_NOT_FOUND, `no resource is at ${uri}; resources/templates/list gives their URIs`);
  }

  private requestOf(entry: ResourceEntry, value: string): Buffer {
    return encodeRequest(entry.method, this.options.codec.decode(entry.method.input, { [entry.variable.name]: value }));
  }

  private textOf(entry: ResourceEntry, message: Message): string {
    const json = this.options.codec.encode(entry.method.output, message);
    if (!entry.option.textField) return JSON.stringify(json);
    const field = entry.method.output.fields.find((f) => f.name === entry.option.textField);
    const text = isObject(json) && field ? json[this.options.codec.key(field)] : undefined;
    return typeof text === "string" ? text : "";
  }

  private follow(entry: ResourceEntry, request: Buffer, changed: () => void): () => void {
    const call = serverStreamCall(this.options.upstream(), entry.method, request);
    let seen = 0;
    let stopped = false;
    const tell = (): void => {
      if (!stopped) changed();
    };
    call.on("data", () => {
      if (seen++ > 0) tell();
    });
    call.on("error", (err: ServiceError) => {
      if (err.code !== GrpcStatus.CANCELLED) tell();
    });
    call.on("end", tell);
    return () => {
      stopped = true;
      call.cancel();
    };
  }

  private poll(uri: string, entry: ResourceEntry, changed: () => void): () => void {
    let last: string | undefined;
    let reading = false;
    let stopped = false;
    const check = async (): Promise<void> => {
      if (reading) return;
      reading = true;
      // A resource that cannot be read (its project gone) reads as that, and changes with it.
      const now = await this.read(uri).then(
        (resource) => resource.text,
        (err: unknown) => `gone: ${err instanceof Error ? err.message : "unreadable"}`,
      );
      reading = false;
      if (!stopped && last !== undefined && now !== last) changed();
      last = now;
    };
    void check();
    const timer = setInterval(() => void check(), entry.option.pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }
}

/** The first message of a watch, the resource as it is now; the watch is then cancelled. */
async function firstOfWatch(client: Client, entry: ResourceEntry, request: Buffer): Promise<Buffer> {
  const call = serverStreamCall(client, entry.method, request);
  try {
    const first = await firstReply(call);
    if (first === null) throw new McpError(RESOURCE_NOT_FOUND, `${entry.option.uriTemplate}: the watch ended before it said anything`);
    return first;
  } finally {
    // Cancelling fails the call once more; nobody waits for that.
    call.on("error", () => undefined);
    call.cancel();
  }
}

function asMcpError(err: unknown, uri: string): unknown {
  if (!isServiceError(err)) return err;
  const error = fromCallError(err, {});
  const code = error.grpcCode === GrpcStatus.NOT_FOUND || error.grpcCode === GrpcStatus.INVALID_ARGUMENT ? RESOURCE_NOT_FOUND : -32603;
  return new McpError(code, `${uri}: ${error.message} (${error.reason})`);
}
