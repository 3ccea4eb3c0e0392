/** What the data services (PostgreSQL, Redis) share: their namespace. */

/** PostgreSQL and Redis run here; only their declared clients reach them. */
export const DATABASES_NAMESPACE = 'databases';
