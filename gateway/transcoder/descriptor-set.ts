import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** FileDescriptorSet.file and FileDescriptorProto.source_code_info. */
const SET_FILE = 1;
const FILE_SOURCE_CODE_INFO = 9;

/**
 * A FileDescriptorSet without its files' source code info (the comments and their locations):
 * four fifths of ghostd's set, and most of the time spent decoding it. For callers that never
 * read comments (ghostctl's calls); the OpenAPI documents need them. Works on the wire, so what
 * it drops is skipped, never decoded, and what it keeps is copied byte for byte.
 */
export function withoutSourceInfo(set: Uint8Array): Uint8Array {
  return rewriteFields(set, (field, wireType, reader, writer) => {
    if (field !== SET_FILE || wireType !== WireType.LengthDelimited) return false;
    writer.tag(SET_FILE, WireType.LengthDelimited).bytes(rewriteFields(reader.bytes(), (inner, innerType, fileReader) => inner === FILE_SOURCE_CODE_INFO && fileReader.skip(innerType, inner).length >= 0));
    return true;
  });
}

/**
 * A message's bytes, field by field: `handle` reads a field (its tag already read) and writes what
 * takes its place, returning true; a field it returns false for, having read nothing, is kept as it was.
 */
function rewriteFields(bytes: Uint8Array, handle: (field: number, wireType: WireType, reader: BinaryReader, writer: BinaryWriter) => boolean): Uint8Array {
  const reader = new BinaryReader(bytes);
  const writer = new BinaryWriter();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wireType] = reader.tag();
    if (handle(field, wireType, reader, writer)) continue;
    reader.skip(wireType, field);
    writer.raw(bytes.subarray(start, reader.pos));
  }
  return writer.finish();
}
