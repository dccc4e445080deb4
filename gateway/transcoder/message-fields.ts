import type { DescField, Message } from "@bufbuild/protobuf";

type Fields = Record<string, unknown>;

/** Sets a field of a protobuf-es message, a oneof member included (`{case, value}` on its oneof). */
export function setField(message: Message, field: DescField, value: unknown): void {
  const fields = message as unknown as Fields;
  if (field.oneof) fields[field.oneof.localName] = { case: field.localName, value };
  else fields[field.localName] = value;
}

/** A field's value in a protobuf-es message; undefined for a oneof member that is not the one set. */
export function fieldValue(message: Message, field: DescField): unknown {
  const fields = message as unknown as Fields;
  if (!field.oneof) return fields[field.localName];
  const chosen = fields[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return chosen?.case === field.localName ? chosen.value : undefined;
}
