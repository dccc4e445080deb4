import { Metadata, status as GrpcStatus, type ChannelInterface, type Deadline, type InterceptingListener, type StatusObject } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Code, DomainError } from "../../errors";
import type { BoundMethod } from "../bind";
import { MAX_MESSAGE_BYTES } from "../limits";
import { answersOnce, runCore, streamsRequests, type CallContext, type Outcome, type ResponseSink } from "../method-cores";
import { Replies } from "./replies";
import { RequestQueue } from "./requests";

/** The call grpc-js's client drives: what a channel's `createCall` answers. */
type ClientCall = ReturnType<ChannelInterface["createCall"]>;

let calls = 0;

/** A call's context; its signal is made when a method first looks at it, as most unary methods never do. */
class InProcessContext implements CallContext {
  constructor(
    private readonly controller: AbortController,
    readonly metadata: Metadata,
    readonly deadline: Deadline,
    private readonly replies: Replies,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  readonly sendMetadata = (metadata: Metadata): void => this.replies.sendMetadata(metadata);
}

/**
 * One call from a grpc-js client to a method of this process, with no transport between: the
 * client's operations (start, messages, half-close, reads, cancel) drive the method's core, and
 * its answer goes back through `Replies`. Requests and responses still cross as bytes, through
 * the generated codecs, so a method sees exactly the messages the gRPC server would give it.
 */
export class InProcessCall implements ClientCall {
  private readonly replies = new Replies();
  private readonly controller = new AbortController();
  private readonly number = ++calls;
  private requests: RequestQueue | undefined;
  private request: Buffer | undefined;
  private metadata = new Metadata();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly path: string,
    private readonly method: BoundMethod | undefined,
    private readonly deadline: Deadline,
    private readonly logger: Logger,
  ) {}

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.replies.start(listener);
    this.metadata = metadata.clone();
    this.watchDeadline();
    if (!this.method) return this.fail(GrpcStatus.UNIMPLEMENTED, `The server does not implement the method ${this.path}`);
    if (streamsRequests(this.method.core)) {
      this.requests = new RequestQueue();
      this.run(this.requests);
    }
  }

  sendMessageWithContext(context: { callback?: (error?: Error | null) => void }, message: Buffer): void {
    const accept = (): void => context.callback?.();
    if (this.replies.ended) return accept();
    if (message.length > MAX_MESSAGE_BYTES) {
      accept();
      return this.fail(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${message.length} vs. ${MAX_MESSAGE_BYTES})`);
    }
    if (!this.requests) {
      // As grpc-js's server answers a client that breaks the protocol.
      if (this.request !== undefined) this.fail(GrpcStatus.UNIMPLEMENTED, `Received a second request message for method ${this.path}`);
      else this.request = message;
      return accept();
    }
    const request = this.decode(message);
    if (request.ok) this.requests.push(request.value, message.length, accept);
    else accept();
  }

  halfClose(): void {
    if (this.requests) return this.requests.end();
    if (this.replies.ended || !this.method) return;
    if (this.request === undefined) return this.fail(GrpcStatus.UNIMPLEMENTED, `Received no request message for method ${this.path}`);
    const request = this.decode(this.request);
    if (request.ok) this.run(request.value);
  }

  startRead(): void {
    this.replies.read();
  }

  /** The client gives up: a method still running is told to stop; responses it has not read are dropped. */
  cancelWithStatus(code: GrpcStatus, details: string): void {
    this.stop("the client went away");
    this.replies.cancel({ code, details, metadata: new Metadata() });
  }

  getPeer(): string {
    return "in-process";
  }

  getCallNumber(): number {
    return this.number;
  }

  setCredentials(): void {
    // Credentials have nothing to guard in one process.
  }

  getAuthContext(): null {
    return null;
  }

  private run(input: unknown): void {
    const method = this.method as BoundMethod;
    const context = new InProcessContext(this.controller, this.metadata, this.deadline, this.replies);
    const sink: ResponseSink = { write: (response, taken) => this.send(response, taken) };
    void runCore(method.core, this.path, input, context, sink).then((ended) => this.end(ended));
  }

  private end(outcome: Outcome): void {
    if (this.finished) return;
    if (outcome.ok && this.method && answersOnce(this.method.core)) this.send(outcome.reply, () => undefined);
    if (outcome.ok) this.finish({ code: GrpcStatus.OK, details: "OK", metadata: new Metadata() });
    else if (outcome.status) this.finish({ code: outcome.status.code ?? GrpcStatus.UNKNOWN, details: outcome.status.details ?? "", metadata: outcome.status.metadata ?? new Metadata() });
  }

  private send(response: unknown, taken: () => void): void {
    if (this.replies.ended) return;
    let bytes: Buffer;
    try {
      bytes = (this.method as BoundMethod).definition.responseSerialize(response);
    } catch (err) {
      this.logger.error({ err, method: this.path }, "response could not be serialised");
      return this.fail(GrpcStatus.INTERNAL, "internal error");
    }
    if (bytes.length > MAX_MESSAGE_BYTES) return this.fail(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${bytes.length} vs. ${MAX_MESSAGE_BYTES})`);
    this.replies.write(bytes, taken);
  }

  private decode(message: Buffer): { ok: true; value: unknown } | { ok: false } {
    try {
      return { ok: true, value: (this.method as BoundMethod).definition.requestDeserialize(message) };
    } catch (err) {
      this.fail(GrpcStatus.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
      return { ok: false };
    }
  }

  /** Ends the call from the server's side: the method is told to stop, the client gets the status. */
  private fail(code: GrpcStatus, details: string): void {
    if (this.stop(details)) this.replies.finish({ code, details, metadata: new Metadata() });
  }

  /** Ends the call as the method answered; its signal stays as it is. */
  private finish(status: StatusObject): void {
    if (this.settle()) this.replies.finish(status);
  }

  /** Ends the call with the method told to stop: its signal aborts and its request stream fails with `why`. */
  private stop(why: string): boolean {
    if (!this.settle()) return false;
    this.controller.abort();
    this.requests?.fail(new DomainError(Code.CANCELLED, "cancelled", why));
    return true;
  }

  /** Marks the call ended, once; false when it already was. */
  private settle(): boolean {
    if (this.finished) return false;
    this.finished = true;
    clearTimeout(this.timer);
    return true;
  }

  private watchDeadline(): void {
    if (this.deadline === Infinity) return;
    const started = Date.now();
    const at = this.deadline instanceof Date ? this.deadline.getTime() : this.deadline;
    this.timer = setTimeout(() => this.cancelWithStatus(GrpcStatus.DEADLINE_EXCEEDED, `Deadline exceeded after ${((Date.now() - started) / 1000).toFixed(3)}s`), Math.max(0, at - started));
  }
}
