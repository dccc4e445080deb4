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
  return rewriteFields(set, (field, value) => (field === SET_FILE ? lengthDelimited(SET_FILE, withoutField(value, FILE_SOURCE_CODE_INFO)) : undefined));
}

/** A message's bytes without any occurrence of one field. */
function withoutField(message: Uint8Array, dropped: number): Uint8Array {
  return rewriteFields(message, (field) => (field === dropped ? new Uint8Array(0) : undefined));
}

/**
 * A message's bytes, field by field: `replace` gets each length-delimited field's number and
 * value and returns the bytes that take its place (tag included), or undefined to keep the
 * field as it was; fields of other wire types are always kept.
 */
function rewriteFields(bytes: Uint8Array, replace: (field: number, value: Uint8Array) => Uint8Array | undefined): Uint8Array {
  const reader = new BinaryReader(bytes);
  const writer = new BinaryWriter();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wireType] = reader.tag();
    const replacement = wireType === WireType.LengthDelimited ? replace(field, reader.bytes()) : (reader.skip(wireType, field), undefined);
    writer.raw(replacement ?? bytes.subarray(start, reader.pos));
  }
  return writer.finish();
}

function lengthDelimited(field: number, value: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(value).finish();
}
