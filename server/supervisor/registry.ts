import { ownerOnlyDirectory, ownerOnlyFile } from "../owner-only";
import Database from "better-sqlite3";
import { dirname } from "node:path";
import type { TaskHandle } from "./runtime/driver";

/** A project's status, as the registry stores it (the contract's lowercase spellings). */
export type ProjectState = "registered" | "open" | "starting" | "running" | "degraded" | "stopping" | "stopped" | "failed";
export type ServiceState = "stopped" | "starting" | "running" | "stopping" | "failed";

export interface ProjectRow {
  readonly projectId: string;
  readonly appId: string;
  readonly packagePath: string;
  readonly statePath: string;
  readonly manifest: string;
  readonly name: string;
  readonly version: string;
  readonly namespace: string;
  readonly status: ProjectState;
  readonly serviceCount: number;
  /** Whether the user wants it running: what a daemon restart brings back. */
  readonly desiredRunning: boolean;
  /** The runtime plan (JSON) while the project is open. */
  readonly plan: string | undefined;
}

export type ProjectSummaryRow = Pick<ProjectRow, "projectId" | "appId" | "name" | "status" | "serviceCount"> & { readonly portCount: number };

export interface ServiceRow {
  readonly projectId: string;
  readonly name: string;
  readonly status: ServiceState;
  /** The task running the service, as its runtime names it; none while it does not run. */
  readonly handle?: TaskHandle | undefined;
  /**
   * Schema 1's process columns, from before runtimes named their tasks: stored and read back as
   * given, while the supervisor writes and reads only the handle (migration 2 moved their values
   * into it).
   */
  readonly pid?: number;
  readonly pidStart?: number;
  readonly startedAt: string | undefined;
  readonly restartCount: number;
}

export interface PortRow {
  readonly projectId: string;
  readonly serviceName: string;
  readonly containerPort: number;
  readonly protocol: "tcp" | "udp";
  readonly hostPort: number;
  readonly fixed: boolean;
}

/** Each migration takes the schema from its index to the next version; append only. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE projects (
     project_id TEXT PRIMARY KEY,
     app_id TEXT NOT NULL,
     package_path TEXT NOT NULL,
     state_path TEXT NOT NULL,
     manifest TEXT NOT NULL,
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     namespace TEXT NOT NULL UNIQUE,
     status TEXT NOT NULL,
     desired_running INTEGER NOT NULL DEFAULT 0,
     service_count INTEGER NOT NULL DEFAULT 0,
     plan TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE services (
     project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     status TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     pid_start INTEGER NOT NULL DEFAULT 0,
     started_at TEXT,
     restart_count INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (project_id, name)
   );
   CREATE TABLE ports (
     project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
     service_name TEXT NOT NULL,
     container_port INTEGER NOT NULL,
     protocol TEXT NOT NULL,
     host_port INTEGER NOT NULL,
     fixed INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (project_id, service_name, container_port, protocol),
     UNIQUE (host_port, protocol)
   );
   CREATE INDEX projects_status ON projects(status);`,
  // A running service is named by its runtime's handle (driver + the runtime's own id), not by a
  // pid: a container runtime has none. pid/pid_start stay, unread, as SQLite keeps columns.
  `ALTER TABLE services ADD COLUMN runtime TEXT;
   ALTER TABLE services ADD COLUMN handle TEXT;
   UPDATE services SET runtime = 'process', handle = pid || '@' || pid_start WHERE pid > 0;`,
  // Imported packages, one per app id and version, with the answer their import gave.
  `CREATE TABLE packages (
     app_id TEXT NOT NULL,
     version TEXT NOT NULL,
     name TEXT NOT NULL,
     digest TEXT NOT NULL,
     trust_status TEXT NOT NULL,
     capabilities TEXT NOT NULL,
     package_path TEXT NOT NULL,
     imported_at TEXT NOT NULL,
     PRIMARY KEY (app_id, version)
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The supervisor's registry: a SQLite file in WAL mode, its schema versioned by `user_version`
 * and migrated on open. Every change that touches more than one row is one transaction.
 */
export class Registry {
  private readonly db: Database.Database;
  private readonly statements;
  private summaryCache: { version: number; rows: readonly ProjectSummaryRow[] } | undefined;
  readonly packages: PackageRecords;

  constructor(path: string) {
    ownerOnlyDirectory(dirname(path));
    ownerOnlyFile(path);
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
    this.migrate();
    const db = this.db;
    this.statements = {
      project: db.prepare("SELECT * FROM projects WHERE project_id = ?"),
      projects: db.prepare("SELECT * FROM projects ORDER BY project_id"),
      projectsByStatus: db.prepare("SELECT * FROM projects WHERE status = ? ORDER BY project_id"),
      insertProject: db.prepare(
        `INSERT INTO projects (project_id, app_id, package_path, state_path, manifest, name, version, namespace, service_count, status, created_at, updated_at)
         VALUES (@projectId, @appId, @packagePath, @statePath, @manifest, @name, @version, @namespace, @serviceCount, 'registered', @now, @now)`,
      ),
      updateManifest: db.prepare("UPDATE projects SET manifest = ?, name = ?, version = ?, service_count = ?, updated_at = ? WHERE project_id = ?"),
      // Only what a summary shows, as arrays: ListProjects reads every project.
      summaries: db
        .prepare(
          `SELECT p.project_id, p.app_id, p.name, p.status, p.service_count,
             (SELECT count(*) FROM ports o WHERE o.project_id = p.project_id) AS port_count
           FROM projects p ORDER BY p.project_id`,
        )
        .raw(true),
      totalChanges: db.prepare("SELECT total_changes()").pluck(),
      setStatus: db.prepare("UPDATE projects SET status = ?, updated_at = ? WHERE project_id = ?"),
      setDesired: db.prepare("UPDATE projects SET desired_running = ?, updated_at = ? WHERE project_id = ?"),
      setPlan: db.prepare("UPDATE projects SET plan = ?, status = ?, updated_at = ? WHERE project_id = ?"),
      services: db.prepare("SELECT * FROM services WHERE project_id = ? ORDER BY rowid"),
      deleteServices: db.prepare("DELETE FROM services WHERE project_id = ?"),
      insertService: db.prepare("INSERT INTO services (project_id, name, status) VALUES (?, ?, 'stopped')"),
      updateService: db.prepare(
        `UPDATE services SET status = @status, runtime = @runtime, handle = @handle, pid = @pid, pid_start = @pidStart, started_at = @startedAt, restart_count = @restartCount
         WHERE project_id = @projectId AND name = @name`,
      ),
      ports: db.prepare("SELECT * FROM ports WHERE project_id = ? ORDER BY service_name, container_port, protocol"),
      allPorts: db.prepare("SELECT host_port, protocol FROM ports"),
      insertPort: db.prepare(
        "INSERT INTO ports (project_id, service_name, container_port, protocol, host_port, fixed) VALUES (@projectId, @serviceName, @containerPort, @protocol, @hostPort, @fixed)",
      ),
      deletePort: db.prepare("DELETE FROM ports WHERE project_id = ? AND service_name = ? AND container_port = ? AND protocol = ?"),
      deletePorts: db.prepare("DELETE FROM ports WHERE project_id = ?"),
      count: db.prepare("SELECT count(*) AS n FROM projects"),
    };
    this.packages = new PackageRecords(db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction: all of it happens, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  project(projectId: string): ProjectRow | undefined {
    const row = this.statements.project.get(projectId) as RawProject | undefined;
    return row && project(row);
  }

  projects(status?: ProjectState): ProjectRow[] {
    const rows = (status ? this.statements.projectsByStatus.all(status) : this.statements.projects.all()) as RawProject[];
    return rows.map(project);
  }

  insertProject(row: Omit<ProjectRow, "status" | "desiredRunning" | "plan">): void {
    this.statements.insertProject.run({ ...row, now: new Date().toISOString() });
  }

  updateManifest(projectId: string, manifest: string, name: string, version: string, serviceCount: number): void {
    this.statements.updateManifest.run(manifest, name, version, serviceCount, new Date().toISOString(), projectId);
  }

  /**
   * Every project (or those in one status) with the number of host ports it holds. The rows are
   * kept until the next write: this connection is the registry's only writer, and SQLite's count
   * of the changes it made tells when they are stale.
   */
  summaries(status?: ProjectState): readonly ProjectSummaryRow[] {
    const version = this.statements.totalChanges.get() as number;
    if (this.summaryCache?.version !== version) {
      const rows = (this.statements.summaries.all() as [string, string, string, string, number, number][]).map(
        ([projectId, appId, name, state, serviceCount, portCount]) => ({ projectId, appId, name, status: state as ProjectState, serviceCount, portCount }),
      );
      this.summaryCache = { version, rows };
    }
    return status === undefined ? this.summaryCache.rows : this.summaryCache.rows.filter((row) => row.status === status);
  }

  setStatus(projectId: string, status: ProjectState): void {
    this.statements.setStatus.run(status, new Date().toISOString(), projectId);
  }

  setDesiredRunning(projectId: string, running: boolean): void {
    this.statements.setDesired.run(running ? 1 : 0, new Date().toISOString(), projectId);
  }

  /** Stores the plan of an opened project and its services, or clears them (plan undefined). */
  setPlan(projectId: string, plan: string | undefined, services: readonly string[], status: ProjectState): void {
    this.transaction(() => {
      this.statements.setPlan.run(plan ?? null, status, new Date().toISOString(), projectId);
      this.statements.deleteServices.run(projectId);
      for (const name of services) this.statements.insertService.run(projectId, name);
    });
  }

  services(projectId: string): ServiceRow[] {
    return (this.statements.services.all(projectId) as RawService[]).map((r) => ({
      projectId: r.project_id,
      name: r.name,
      status: r.status as ServiceState,
      handle: r.runtime !== null && r.handle !== null ? { driver: r.runtime, id: r.handle } : undefined,
      pid: r.pid,
      pidStart: r.pid_start,
      startedAt: r.started_at ?? undefined,
      restartCount: r.restart_count,
    }));
  }

  updateService(row: ServiceRow): void {
    this.statements.updateService.run({
      projectId: row.projectId,
      name: row.name,
      status: row.status,
      runtime: row.handle?.driver ?? null,
      handle: row.handle?.id ?? null,
      pid: row.pid ?? 0,
      pidStart: row.pidStart ?? 0,
      startedAt: row.startedAt ?? null,
      restartCount: row.restartCount,
    });
  }

  ports(projectId: string): PortRow[] {
    return (this.statements.ports.all(projectId) as RawPort[]).map((r) => ({
      projectId: r.project_id,
      serviceName: r.service_name,
      containerPort: r.container_port,
      protocol: r.protocol as "tcp",
      hostPort: r.host_port,
      fixed: r.fixed === 1,
    }));
  }

  /** Host ports any project holds, as `port/protocol`. */
  takenPorts(): Set<string> {
    return new Set((this.statements.allPorts.all() as { host_port: number; protocol: string }[]).map((r) => `${r.host_port}/${r.protocol}`));
  }

  insertPort(row: PortRow): void {
    this.statements.insertPort.run({ ...row, fixed: row.fixed ? 1 : 0 });
  }

  deletePort(row: PortRow): void {
    this.statements.deletePort.run(row.projectId, row.serviceName, row.containerPort, row.protocol);
  }

  deletePorts(projectId: string): void {
    this.statements.deletePorts.run(projectId);
  }

  count(): number {
    return (this.statements.count.get() as { n: number }).n;
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`the registry has schema version ${current}, newer than this ghostd knows (${MIGRATIONS.length})`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[version] ?? "");
        this.db.pragma(`user_version = ${version + 1}`);
      });
    }
  }
}

/** An imported package as the registry keeps it. */
export interface PackageRow {
  readonly appId: string;
  readonly version: string;
  readonly name: string;
  readonly digest: string;
  readonly trustStatus: string;
  readonly capabilities: readonly string[];
  readonly packagePath: string;
}

/** The registry's packages table. */
export class PackageRecords {
  private readonly find;
  private readonly upsert;
  private readonly all;

  constructor(db: Database.Database) {
    this.find = db.prepare("SELECT * FROM packages WHERE app_id = ? AND version = ?");
    this.all = db.prepare("SELECT * FROM packages ORDER BY app_id, version");
    this.upsert = db.prepare(
      `INSERT INTO packages (app_id, version, name, digest, trust_status, capabilities, package_path, imported_at)
       VALUES (@appId, @version, @name, @digest, @trustStatus, @capabilities, @packagePath, @now)
       ON CONFLICT (app_id, version) DO UPDATE SET name = excluded.name, digest = excluded.digest, trust_status = excluded.trust_status,
         capabilities = excluded.capabilities, package_path = excluded.package_path, imported_at = excluded.imported_at`,
    );
  }

  get(appId: string, version: string): PackageRow | undefined {
    const row = this.find.get(appId, version) as RawPackage | undefined;
    return row && packageRow(row);
  }

  list(): PackageRow[] {
    return (this.all.all() as RawPackage[]).map(packageRow);
  }

  record(row: PackageRow): void {
    this.upsert.run({ ...row, capabilities: JSON.stringify(row.capabilities), now: new Date().toISOString() });
  }
}

interface RawPackage {
  app_id: string;
  version: string;
  name: string;
  digest: string;
  trust_status: string;
  capabilities: string;
  package_path: string;
}

function packageRow(row: RawPackage): PackageRow {
  const capabilities = JSON.parse(row.capabilities) as unknown;
  return {
    appId: row.app_id,
    version: row.version,
    name: row.name,
    digest: row.digest,
    trustStatus: row.trust_status,
    capabilities: Array.isArray(capabilities) ? capabilities.filter((c): c is string => typeof c === "string") : [],
    packagePath: row.package_path,
  };
}

interface RawProject {
  project_id: string;
  app_id: string;
  package_path: string;
  state_path: string;
  manifest: string;
  name: string;
  version: string;
  namespace: string;
  status: string;
  desired_running: number;
  service_count: number;
  plan: string | null;
}

interface RawService {
  project_id: string;
  name: string;
  status: string;
  runtime: string | null;
  handle: string | null;
  pid: number;
  pid_start: number;
  started_at: string | null;
  restart_count: number;
}

interface RawPort {
  project_id: string;
  service_name: string;
  container_port: number;
  protocol: string;
  host_port: number;
  fixed: number;
}

function project(row: RawProject): ProjectRow {
  return {
    projectId: row.project_id,
    appId: row.app_id,
    packagePath: row.package_path,
    statePath: row.state_path,
    manifest: row.manifest,
    name: row.name,
    version: row.version,
    namespace: row.namespace,
    status: row.status as ProjectState,
    serviceCount: row.service_count,
    desiredRunning: row.desired_running === 1,
    plan: row.plan ?? undefined,
  };
}
