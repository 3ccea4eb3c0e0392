/**
 * Names the application-consistent backups (charts/backup/application-backups.ts) share with
 * Vault's configuration (charts/security/vault-config.ts), kept apart so neither imports the other.
 */

/** The namespace of the backup CronJobs: its own, so its NetworkPolicies admit exactly their flows. */
export const BACKUPS_NAMESPACE = 'backups';
/** The CronJob (and service account) that snapshots Vault's raft storage. */
export const VAULT_SNAPSHOT = 'vault-snapshot';
/** The CronJob (and service account) that dumps PostgreSQL. */
export const POSTGRESQL_DUMP = 'postgresql-dump';
/**
 * The Kubernetes-auth role the snapshot Job logs in with: its policy reads
 * `sys/storage/raft/snapshot` and nothing else. Not a secret consumer's role (those only read KV).
 */
export const RAFT_SNAPSHOT_ROLE = 'raft-snapshot';
