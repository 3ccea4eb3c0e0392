/**
 * The backup jobs' names, shared by the services that run them (charts/backup), Vault's
 * configuration (its Raft snapshot role and policy, charts/security/vault-config.ts), and
 * Prometheus' alerts and Grafana's Backups dashboard (charts/observability): facts several service
 * folders need, kept below all of them so none imports another (decision 0112).
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

/** Velero's daily Schedule; its backups are labelled `velero.io/schedule-name: daily`, its metrics `schedule="daily"`. */
export const VELERO_SCHEDULE = 'daily';

/**
 * GitLab's own backup CronJob: the chart's toolbox subchart names it `<fullname>-backup`, i.e.
 * `<release>-toolbox-backup`, and GitLab's release is `gitlab` in the `gitlab` namespace
 * (charts/source/gitlab.ts; test/charts/backup/application-backups.test.ts checks they agree).
 */
export const GITLAB_BACKUP_CRONJOB = { namespace: 'gitlab', name: 'gitlab-toolbox-backup' } as const;

/** The CronJobs the application-backup alerts and the Backups dashboard watch, by namespace: ours, and GitLab's own. */
export const WATCHED_BACKUP_CRONJOBS: Readonly<Record<string, readonly string[]>> = {
  [BACKUPS_NAMESPACE]: [POSTGRESQL_DUMP, VAULT_SNAPSHOT],
  [GITLAB_BACKUP_CRONJOB.namespace]: [GITLAB_BACKUP_CRONJOB.name],
};

/** The label matchers of every watched backup CronJob, as kube-state-metrics labels them (`namespace`, `cronjob`). */
export const WATCHED_BACKUP_CRONJOBS_SELECTOR = `namespace=~"${Object.keys(WATCHED_BACKUP_CRONJOBS).join('|')}", cronjob=~"${Object.values(WATCHED_BACKUP_CRONJOBS).flat().join('|')}"`;
