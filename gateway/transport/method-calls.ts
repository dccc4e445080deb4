import { fromBinary, toBinary, type DescMethod, type Message } from "@bufbuild/protobuf";
import {
  Metadata,
  type CallOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import type { Contract } from "../transcoder/descriptors";

/**
 * The client's serialisers pass bytes through: messages are serialised here, from the contract's
 * descriptors, so that one grpc-js Client calls every method of every service without generated
 * stubs. The gateway's transcoder and ghostctl both call this way.
 */
const identity = (bytes: Buffer): Buffer => bytes;

/** `/package.Service/Method`, the path gRPC addresses a method by. */
export function grpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * A method named `Service/Method` or `package.Service/Method` (a leading `/` allowed, as in a gRPC
 * path), looked for among the given services; undefined when none of them has it.
 */
export function findMethod(contract: Contract, services: readonly string[], name: string): DescMethod | undefined {
  const [serviceName, methodName] = name.replace(/^\//, "").split("/");
  const service = services.map((s) => contract.service(s)).find((s) => s.typeName === serviceName || s.name === serviceName);
  return service?.methods.find((m) => m.name === methodName);
}

export function encodeRequest(method: DescMethod, request: Message): Buffer {
  return Buffer.from(toBinary(method.input, request));
}

export function decodeReply(method: DescMethod, reply: Buffer): Message {
  return fromBinary(method.output, reply);
}

export interface UnaryCall {
  /** The call itself, for its response metadata and to cancel it. */
  readonly call: ClientUnaryCall;
  /** The reply's bytes; a failed call rejects with grpc-js's ServiceError. */
  readonly reply: Promise<Buffer>;
}

type Answer = (err: ServiceError | null, value?: Buffer) => void;

/** The reply of a call with one response, and the callback grpc-js settles it through. */
function awaitedReply(): { reply: Promise<Buffer>; answer: Answer } {
  // A promise's executor runs at once, so `answer` is set before the call can end.
  let answer!: Answer;
  const reply = new Promise<Buffer>((resolve, reject) => {
    answer = (err, value) => (err ? reject(err) : resolve(value ?? Buffer.alloc(0)));
  });
  return { reply, answer };
}

/**
 * grpc-js captures the caller's stack on every call, to append it to a failure's stack trace.
 * Nothing here shows that trace (a failure is read for its code, details and metadata), and the
 * capture was a third of an in-process call's cost: calls start without it.
 */
function withoutCallerStack<T>(start: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return start();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function unaryCall(client: Client, method: DescMethod, argument: Buffer, metadata = new Metadata(), options: CallOptions = {}): UnaryCall {
  const { reply, answer } = awaitedReply();
  const call = withoutCallerStack(() => client.makeUnaryRequest(grpcPath(method), identity, identity, argument, metadata, options, answer));
  return { call, reply };
}

/** A server-streaming call; each reply arrives as a Buffer `data` event, for `decodeReply`. */
export function serverStreamCall(client: Client, method: DescMethod, argument: Buffer, metadata = new Metadata(), options: CallOptions = {}): ClientReadableStream<Buffer> {
  return withoutCallerStack(() => client.makeServerStreamRequest(grpcPath(method), identity, identity, argument, metadata, options));
}

/** A bidirectional call; requests are written as encoded Buffers, replies arrive as Buffer `data` events. */
export function bidiStreamCall(client: Client, method: DescMethod, metadata = new Metadata(), options: CallOptions = {}): ClientDuplexStream<Buffer, Buffer> {
  return withoutCallerStack(() => client.makeBidiStreamRequest(grpcPath(method), identity, identity, metadata, options));
}

export interface ClientStreamCall {
  /** Requests are written as encoded Buffers; ending it is the client's half-close. */
  readonly call: ClientWritableStream<Buffer>;
  /** The reply's bytes; a failed call rejects with grpc-js's ServiceError. */
  readonly reply: Promise<Buffer>;
}

/** A client-streaming call: requests written one by one, one reply at the end. */
export function clientStreamCall(client: Client, method: DescMethod, metadata = new Metadata(), options: CallOptions = {}): ClientStreamCall {
  const { reply, answer } = awaitedReply();
  const call = withoutCallerStack(() => client.makeClientStreamRequest(grpcPath(method), identity, identity, metadata, options, answer));
  return { call, reply };
}

/**
 * The first message of a server stream, the stream then paused, so the caller can set up whatever
 * takes the rest (or cancel it); null when the stream ended without one.
 */
export function firstReply(call: ClientReadableStream<Buffer>): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      cleanup();
      call.pause();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: ServiceError): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      call.off("data", onData);
      call.off("end", onEnd);
      call.off("error", onError);
    };
    call.on("data", onData);
    call.on("end", onEnd);
    call.on("error", onError);
  });
}
