import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { ServerReflectionService, type ServerReflectionRequest, type ServerReflectionResponse } from "../../../generated/grpc/reflection/v1/reflection";
import { DescriptorNotFound, type DescriptorIndex } from "./descriptor-index";

type ReflectionCall = ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>;

/**
 * Server reflection, `grpc.reflection.v1` and the older `v1alpha` that some clients still ask for
 * first: one handler, since the two are the same messages under another package name.
 */
export function reflectionServices(index: DescriptorIndex, listed: readonly string[]): { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[] {
  const implementation = { serverReflectionInfo: (call: ReflectionCall) => answerEach(call, index, listed) };
  const v1alpha = { serverReflectionInfo: { ...ServerReflectionService.serverReflectionInfo, path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo" } };
  return [
    { definition: ServerReflectionService, implementation },
    { definition: v1alpha, implementation },
  ];
}

function answerEach(call: ReflectionCall, index: DescriptorIndex, listed: readonly string[]): void {
  call.on("data", (request: ServerReflectionRequest) => call.write({ validHost: request.host, originalRequest: request, ...answer(request, index, listed) }));
  call.on("end", () => call.end());
  // A client that goes away mid-stream needs nothing more.
  call.on("error", () => undefined);
}

export function answer(request: ServerReflectionRequest, index: DescriptorIndex, listed: readonly string[]): Partial<ServerReflectionResponse> {
  try {
    if (request.listServices !== undefined) return { listServicesResponse: { service: listed.map((name) => ({ name })) } };
    if (request.fileByFilename !== undefined) return files(index.fileByName(request.fileByFilename));
    if (request.fileContainingSymbol !== undefined) return files(index.fileContainingSymbol(request.fileContainingSymbol));
    if (request.fileContainingExtension !== undefined) {
      const { containingType, extensionNumber } = request.fileContainingExtension;
      return files(index.fileContainingExtension(containingType, extensionNumber));
    }
    if (request.allExtensionNumbersOfType !== undefined) {
      const baseTypeName = request.allExtensionNumbersOfType;
      return { allExtensionNumbersResponse: { baseTypeName, extensionNumber: index.extensionNumbersOf(baseTypeName) } };
    }
    return failure(status.INVALID_ARGUMENT, "the request asks for nothing this server knows how to answer");
  } catch (err) {
    // Answered on the stream, never thrown: this runs in the stream's data listener.
    if (err instanceof DescriptorNotFound) return failure(status.NOT_FOUND, err.message);
    return failure(status.INTERNAL, `cannot answer: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function files(descriptors: Uint8Array[]): Partial<ServerReflectionResponse> {
  return { fileDescriptorResponse: { fileDescriptorProto: descriptors.map((bytes) => Buffer.from(bytes)) } };
}

function failure(code: status, errorMessage: string): Partial<ServerReflectionResponse> {
  return { errorResponse: { errorCode: code, errorMessage } };
}
