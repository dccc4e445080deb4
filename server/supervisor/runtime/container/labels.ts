/** The labels ghostd puts on every container and network it makes, so it finds them again (and only them). */
export const LABEL_PROJECT = "ghostd.project";
export const LABEL_SERVICE = "ghostd.service";
export const LABEL_NAMESPACE = "ghostd.namespace";
/**
 * A digest of the container's whole spec, as compose's config-hash: a later daemon takes over a
 * running container only when it would create the very same one now.
 */
export const LABEL_CONFIG = "ghostd.config";

export function resourceLabels(projectId: string, namespace: string, service?: string): Record<string, string> {
  return { [LABEL_PROJECT]: projectId, [LABEL_NAMESPACE]: namespace, ...(service === undefined ? {} : { [LABEL_SERVICE]: service }) };
}

/** The Engine API's filter for what ghostd made in a namespace. */
export function namespaceFilter(namespace: string): { label: string[] } {
  return { label: [`${LABEL_NAMESPACE}=${namespace}`] };
}

/** The name of a namespace's network: the namespace itself, which is unique per project. */
export function networkName(namespace: string): string {
  return namespace;
}

/** A service's container is named after its namespace, so a second one of it cannot be made beside the first. */
export function containerName(namespace: string, service: string): string {
  return `${namespace}-${service}`;
}
