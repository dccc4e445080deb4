import type { DescField, DescMethod } from "@bufbuild/protobuf";
import type { ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";
import type { McpResource } from "../../generated/ghostd/options/v1/options";
import type { Contract } from "../transcoder/descriptors";

/** One kind of resource: its template, the method that reads it, and how its instances are listed. */
export interface ResourceEntry {
  readonly template: ResourceTemplate;
  readonly method: DescMethod;
  readonly option: McpResource;
  /** The request field the URI's one variable fills. */
  readonly variable: DescField;
  /** The method that lists them, and the list field of its answer. */
  readonly list: { readonly method: DescMethod; readonly field: DescField; readonly key: DescField };
  /** The variable's value in a URI of this kind, undecoded; undefined for a URI of another kind. */
  valueIn(uri: string): string | undefined;
}

/** The MCP resources of the given services: every method marked `ghostd.options.v1.mcp_resource`. */
export function resourceTable(contract: Contract, services: readonly string[]): ResourceEntry[] {
  const entries: ResourceEntry[] = [];
  for (const service of services) {
    for (const method of contract.service(service).methods) {
      const option = contract.mcpResource(method);
      if (option) entries.push(describeResource(method, option));
    }
  }
  return entries;
}

function describeResource(method: DescMethod, option: McpResource): ResourceEntry {
  const where = `${method.parent.typeName}/${method.name}`;
  const fail = (why: string): never => {
    throw new Error(`${where}: MCP resource ${option.uriTemplate}: ${why}`);
  };
  const variables = [...option.uriTemplate.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
  const [name] = variables;
  if (variables.length !== 1 || name === undefined) return fail("its URI template must have exactly one variable");
  const variable = method.input.fields.find((f) => f.name === name) ?? fail(`${name} is not a field of ${method.input.typeName}`);
  if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") fail("only unary and server-streaming methods can be read");
  if (method.methodKind === "unary" && option.pollMs <= 0) fail("a unary method needs poll_ms, to tell subscribers of changes");
  if (option.textField && !method.output.fields.some((f) => f.name === option.textField)) fail(`${option.textField} is not a field of ${method.output.typeName}`);
  const listMethod = method.parent.methods.find((m) => m.name === option.listMethod) ?? fail(`no method ${option.listMethod} lists them`);
  const field = listMethod.output.fields.find(isMessageList) ?? fail(`${listMethod.name} answers no list of messages`);
  const key = field.message.fields.find((f) => f.name === name) ?? fail(`the items ${listMethod.name} lists have no ${name}`);
  const [before = "", after = ""] = option.uriTemplate.split(`{${name}}`);
  return {
    template: { uriTemplate: option.uriTemplate, name: option.name, description: option.description, mimeType: option.mimeType },
    method,
    option,
    variable,
    list: { method: listMethod, field, key },
    valueIn: (uri) => {
      if (uri.length <= before.length + after.length || !uri.startsWith(before) || !uri.endsWith(after)) return undefined;
      const value = uri.slice(before.length, uri.length - after.length);
      return /[/?#]/.test(value) ? undefined : value;
    },
  };
}

type MessageList = Extract<DescField, { fieldKind: "list"; listKind: "message" }>;

function isMessageList(field: DescField): field is MessageList {
  return field.fieldKind === "list" && field.listKind === "message";
}
