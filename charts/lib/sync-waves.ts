/**
 * Argo CD sync waves that order services across folders (the data services, GitLab, Harbor,
 * Jenkins, Prometheus' discovery grants): several service charts name them, so they live below
 * all of them (docs/decisions/0094-import-layers.md). Waves a single service uses stay with it.
 */

/**
 * Sync waves of the data, source and registry services: the namespace first, the databases next
 * (they need Vault's injector, which the security services bring earlier), GitLab and Harbor last.
 */
export const NAMESPACE_SYNC_WAVE = 10;
export const DATA_SYNC_WAVE = 11;
export const APPLICATION_SYNC_WAVE = 12;
/**
 * Jenkins and its build namespace: after GitLab, because Jenkins' GitLab tokens can only be
 * issued by a running GitLab (docs/decisions/0065-bring-up-order.md).
 */
export const DELIVERY_SYNC_WAVE = 13;
/**
 * Prometheus' pod-discovery grants, one RoleBinding in each namespace it scrapes: last, once
 * every namespace exists (a RoleBinding in a namespace not yet created fails the sync).
 */
export const DISCOVERY_SYNC_WAVE = 14;
