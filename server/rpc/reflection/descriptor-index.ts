import { create, createFileRegistry, fromBinary, toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/** A lookup that names no file, symbol or extension the index holds. */
export class DescriptorNotFound extends Error {}

/**
 * The exact FileDescriptorProtos a server was compiled from, as reflection hands them out: each
 * answer is a file and every file it imports, transitively, encoded as they were built (options
 * such as `google.api.http` included), so a client can rebuild every type without a local schema.
 */
export class DescriptorIndex {
  private readonly registry: FileRegistry;
  private readonly encoded = new Map<string, Uint8Array>();

  /** `sets` are FileDescriptorSets with their imports; a file in several is taken once. */
  constructor(sets: readonly Uint8Array[]) {
    const files = new Map(sets.flatMap((set) => fromBinary(FileDescriptorSetSchema, set).file).map((file) => [file.name, file]));
    this.registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files.values()] }));
  }

  fileByName(name: string): Uint8Array[] {
    const file = this.registry.getFile(name);
    if (!file) throw new DescriptorNotFound(`no file named "${name}"`);
    return this.withImports(file);
  }

  /** A message, enum, service or extension by its full name, or a method, field or enum value inside one. */
  fileContainingSymbol(symbol: string): Uint8Array[] {
    const name = symbol.replace(/^\./, "");
    const desc = this.registry.get(name) ?? this.parentHolding(name);
    if (!desc) throw new DescriptorNotFound(`no symbol named "${symbol}"`);
    return this.withImports(desc.file);
  }

  fileContainingExtension(extendee: string, number: number): Uint8Array[] {
    const message = this.registry.getMessage(extendee);
    const extension = message && this.registry.getExtensionFor(message, number);
    if (!extension) throw new DescriptorNotFound(`no extension ${number} of "${extendee}"`);
    return this.withImports(extension.file);
  }

  extensionNumbersOf(extendee: string): number[] {
    if (!this.registry.getMessage(extendee)) throw new DescriptorNotFound(`no message named "${extendee}"`);
    return [...this.registry].flatMap((desc) => (desc.kind === "extension" && desc.extendee.typeName === extendee ? [desc.number] : []));
  }

  /** `Outer.member`: the service, message or enum `Outer` when it has a method, field, map entry or value named `member`. */
  private parentHolding(name: string) {
    const dot = name.lastIndexOf(".");
    const parent = dot > 0 ? this.registry.get(name.slice(0, dot)) : undefined;
    const member = name.slice(dot + 1);
    if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) return parent;
    if (parent?.kind === "message" && [...parent.fields, ...parent.oneofs].some((f) => f.name === member)) return parent;
    // A map field's entry (`Outer.EnvEntry`) is a nested message in the descriptor protos, and C++
    // and Python pools resolve it, but @bufbuild/protobuf's registry does not list it as a message.
    if (parent?.kind === "message" && parent.proto.nestedType.some((n) => n.name === member)) return parent;
    if (parent?.kind === "enum" && parent.values.some((v) => v.name === member)) return parent;
    return undefined;
  }

  /** The file first, then everything it imports, each once. */
  private withImports(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const order: DescFile[] = [];
    const visit = (f: DescFile): void => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      order.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return order.map((f) => this.encode(f));
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }
}
