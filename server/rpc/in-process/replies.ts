import { Metadata, status as GrpcStatus, type InterceptingListener, type StatusObject } from "@grpc/grpc-js";

interface Reply {
  readonly bytes: Buffer;
  /** Tells the method its response was taken. */
  readonly taken: () => void;
}

/**
 * What a method sends back to an in-process client, delivered to grpc-js's listener as its HTTP/2
 * transport delivers it: never inside the caller's own call, headers before the first response
 * (sent for it when the method did not), one response per read the client asks for, and the
 * status once every response has been read. A status with no headers before it is trailers-only,
 * as on the wire: the client sees no headers.
 */
export class Replies {
  private listener: InterceptingListener | undefined;
  private headersSent = false;
  private headers: Metadata | undefined;
  private readonly queued: Reply[] = [];
  private reads = 0;
  private status: StatusObject | undefined;
  private delivered = false;
  private scheduled = false;

  start(listener: InterceptingListener): void {
    this.listener = listener;
    this.schedule();
  }

  sendMetadata(metadata: Metadata): void {
    if (this.headersSent || this.status) return;
    this.headersSent = true;
    this.headers = metadata;
    this.schedule();
  }

  write(bytes: Buffer, taken: () => void): void {
    if (this.status) return;
    this.sendMetadata(new Metadata());
    this.queued.push({ bytes, taken });
    this.schedule();
  }

  /** The client asks for one more response. */
  read(): void {
    this.reads++;
    this.schedule();
  }

  /** Ends the call with `status` once the responses before it are read; the first status stands. */
  finish(status: StatusObject): void {
    if (this.status) return;
    this.status = status;
    this.schedule();
  }

  /**
   * Ends the call with `status` now: responses not yet read are dropped, and an OK not yet
   * delivered gives way to the cancellation, as grpc-js's transport has it.
   */
  cancel(status: StatusObject): void {
    if (this.delivered) return;
    for (const reply of this.queued.splice(0)) reply.taken();
    if (!this.status || this.status.code === GrpcStatus.OK) this.status = status;
    this.schedule();
  }

  get ended(): boolean {
    return this.status !== undefined;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    const listener = this.listener;
    if (!listener || this.delivered) return;
    const headers = this.headers;
    this.headers = undefined;
    if (headers) listener.onReceiveMetadata(headers);
    while (this.reads > 0 && this.queued.length > 0) {
      const reply = this.queued.shift() as Reply;
      this.reads--;
      listener.onReceiveMessage(reply.bytes);
      reply.taken();
    }
    if (this.status && this.queued.length === 0) {
      this.delivered = true;
      listener.onReceiveStatus(this.status);
    }
  }
}
