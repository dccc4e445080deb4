/** A rule that cannot be served as it is written: found when the route table is built. */
export class RouteError extends Error {}
