/**
 * Compose's variable syntax, resolved when a service starts: `${VAR}`, `${VAR:-default}` (unset
 * or empty), `${VAR-default}` (unset), `$VAR`, and `$$` for a dollar sign. Unknown variables are
 * empty, as Compose makes them.
 */
export function interpolate(text: string, variables: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, operator?: string, fallback?: string, bare?: string) => {
    if (whole === "$$") return "$";
    const name = braced ?? bare ?? "";
    const value = variables[name];
    if (operator === ":-" && (value === undefined || value === "")) return fallback ?? "";
    if (operator === "-" && value === undefined) return fallback ?? "";
    return value ?? "";
  });
}
