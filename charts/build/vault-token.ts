/**
 * How the delivery workloads (Jenkins, its build pods, the user's apps) authenticate to Vault
 * without handing their own containers an API token: a projected service account token issued
 * for Vault's audience (POLICY-RULES VAULT-03), mounted only into the injected Vault agent
 * (`agent-service-account-token-volume-name`); the workload keeps
 * `automountServiceAccountToken: false` unless it calls the Kubernetes API itself.
 *
 * The Vault service (issue 6) renders each consumer's role; it must expect this audience.
 * This belongs next to `vaultAgentAnnotations()` in charts/lib/vault.ts once that file takes it.
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 * @see https://developer.hashicorp.com/vault/docs/auth/kubernetes
 */
import { connect, type Connection, type Workload } from '../lib/network';
import { VAULT_NAMESPACE, VAULT_PORT, VAULT_SERVICE, vaultAgentAnnotations, type SecretConsumer } from '../lib/vault';

/** The audience of the token the Vault agent logs in with; Vault's Kubernetes auth roles name it. */
export const VAULT_TOKEN_AUDIENCE = 'vault';
/** The pod volume holding that token. */
export const VAULT_TOKEN_VOLUME = 'vault-token';

/** The Vault server pods, as the connections of its consumers name them. */
export const VAULT_SERVER: Workload = { namespace: VAULT_NAMESPACE, name: VAULT_SERVICE, ports: { api: VAULT_PORT } };

/** The projected volume with a short-lived token for Vault's audience. */
export function vaultTokenVolume(): Record<string, unknown> {
  return {
    name: VAULT_TOKEN_VOLUME,
    projected: {
      sources: [{ serviceAccountToken: { audience: VAULT_TOKEN_AUDIENCE, expirationSeconds: 3600, path: 'token' } }],
    },
  };
}

/**
 * The pod annotations of a Vault consumer: the injector's (charts/lib/vault.ts) plus the volume
 * its agent authenticates with, and any per-pod extras (file paths, pre-populate only).
 */
export function vaultPodAnnotations(consumer: SecretConsumer, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    ...vaultAgentAnnotations(consumer),
    'vault.hashicorp.com/agent-service-account-token-volume-name': VAULT_TOKEN_VOLUME,
    ...extra,
  };
}

/** The consumer's pods reach Vault's API (their agent does, in the same pod). */
export function vaultAccess(from: Workload): Connection {
  return connect({ workload: from }, VAULT_SERVER, ['api'], 'Vault (the injected agent reads its secrets)');
}
