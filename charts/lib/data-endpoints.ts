/**
 * The endpoints of the platform's data services, as their clients need them: the PostgreSQL and
 * Redis workloads (namespace, name, ports by name), the Service hosts and ports, each client's
 * database and Redis logical databases, and Ceph's RADOS Gateway as a network peer. GitLab,
 * Harbor and the database dumps read them here; the data services (charts/data) render the
 * servers. Facts both sides share live below both (docs/decisions/0094-import-layers.md,
 * 0111-data-endpoints.md).
 */
import type { Platform } from '../../config';
import { isIpv4 } from '../../config/net';
import { hosts, type Network, type Workload } from './network';

/** PostgreSQL and Redis run here; only their declared clients reach them. */
export const DATABASES_NAMESPACE = 'databases';

export const POSTGRESQL: Workload = { namespace: DATABASES_NAMESPACE, name: 'postgresql', ports: { postgres: 5432, metrics: 9187 } };
/** The Service clients connect to: `postgresql.databases.svc:5432`. */
export const POSTGRESQL_HOST = `${POSTGRESQL.name}.${DATABASES_NAMESPACE}.svc`;
export const POSTGRESQL_PORT = POSTGRESQL.ports!.postgres;

/** An application's own user and database (the user owns the database). */
export interface DatabaseOwner {
  readonly user: string;
  readonly database: string;
  /** Extensions the application needs but, as a non-superuser, cannot create itself. */
  readonly extensions: readonly string[];
}

/**
 * The databases of the platform. GitLab needs pg_trgm and btree_gist in its database
 * (https://docs.gitlab.com/install/postgresql_extensions/); Harbor's is `registry`, its default.
 */
export const DATABASES: readonly DatabaseOwner[] = [
  { user: 'gitlab', database: 'gitlabhq_production', extensions: ['btree_gist', 'pg_trgm'] },
  { user: 'harbor', database: 'registry', extensions: [] },
];

export function databaseOf(user: string): DatabaseOwner {
  const owner = DATABASES.find((d) => d.user === user);
  if (!owner) throw new Error(`postgresql: no database user "${user}"; declared: ${DATABASES.map((d) => d.user).join(', ')}`);
  return owner;
}

export const REDIS: Workload = { namespace: DATABASES_NAMESPACE, name: 'redis', ports: { redis: 6379, metrics: 9121 } };
/** The Service clients connect to: `redis.databases.svc:6379`. */
export const REDIS_HOST = `${REDIS.name}.${DATABASES_NAMESPACE}.svc`;
export const REDIS_PORT = REDIS.ports!.redis;

/**
 * Logical databases. Harbor's core must use 0 (its library cannot be configured otherwise), its
 * job service, registry and Trivy adapter use 1, 2 and 5 (the chart's defaults); GitLab gets 10.
 */
export const REDIS_DATABASES = {
  harbor: { core: 0, jobservice: 1, registry: 2, trivy: 5 },
  gitlab: 10,
} as const;

/**
 * Ceph's RADOS Gateway (S3) as a network peer: GitLab keeps its objects there. The endpoint is
 * `ceph.rgw.endpoint`; an address is allowed exactly, a name (resolved at run time, unknown here)
 * falls back to the nodes' LAN, where the Ceph cluster lives.
 */
export function rgwNetwork(platform: Platform): Network {
  const host = new URL(platform.ceph.rgw.endpoint).hostname;
  return isIpv4(host) ? hosts('ceph rgw', [host]) : { name: 'ceph rgw (LAN)', cidrs: [{ cidr: platform.cluster.lanCidr }] };
}

/** The RADOS Gateway's port: the endpoint's own, else the scheme's default. */
export function rgwPort(platform: Platform): number {
  const url = new URL(platform.ceph.rgw.endpoint);
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
