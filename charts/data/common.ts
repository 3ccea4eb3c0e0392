/** What the data services (PostgreSQL, Redis) share: their namespace and their place in the sync order. */

/** PostgreSQL and Redis run here; only their declared clients reach them. */
export const DATABASES_NAMESPACE = 'databases';

/**
 * Sync waves of the data, source and registry services: the namespace first, the databases next
 * (they need Vault's injector, which the security services bring earlier), GitLab and Harbor last.
 */
export const NAMESPACE_SYNC_WAVE = 10;
export const DATA_SYNC_WAVE = 11;
export const APPLICATION_SYNC_WAVE = 12;
