/**
 * How the observability workloads read their secrets from Vault: the injector annotations of
 * charts/lib/vault.ts, plus a projected service-account token for the agent alone. The
 * application containers get no API token (automountServiceAccountToken stays false, K8S-SA-01);
 * the agent logs in with a short-lived token issued for Vault's audience.
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 */
import { vaultAgentAnnotations, VAULT_PORT, type SecretConsumer, type VaultSecret } from '../lib/vault';
import type { Connection, Workload } from '../lib/network';
import { VAULT_SERVER } from './targets';

/** The audience of the agent's token; the Vault role of each consumer must expect it (issue 6). */
export const VAULT_TOKEN_AUDIENCE = 'vault';
export const VAULT_TOKEN_VOLUME = 'vault-token';
/** Where the agent writes each secret; the application reads `/vault/secrets/<name>`. */
export const VAULT_SECRETS_DIR = '/vault/secrets';

/** A secret rendered as the bare value of one key (a password or URL file, not `key=value` lines). */
export function rawValueSecret(consumer: string, name: string, key: string): VaultSecret {
  return {
    name,
    keys: [key],
    template: `{{- with secret "secret/data/${consumer}/${name}" -}}{{ index .Data.data "${key}" }}{{- end }}`,
  };
}

export function secretFile(secret: VaultSecret): string {
  return `${VAULT_SECRETS_DIR}/${secret.name}`;
}

/** Pod-template annotations and the token volume for a consumer's pods. */
export function vaultAgentPod(consumer: SecretConsumer) {
  return {
    annotations: {
      ...vaultAgentAnnotations(consumer),
      'vault.hashicorp.com/agent-service-account-token-volume-name': VAULT_TOKEN_VOLUME,
    },
    volume: {
      name: VAULT_TOKEN_VOLUME,
      projected: { sources: [{ serviceAccountToken: { path: 'token', audience: VAULT_TOKEN_AUDIENCE, expirationSeconds: 3600 } }] },
    },
  };
}

/** The agent in the consumer's pod talks to Vault. */
export function vaultAccess(from: Workload): Connection {
  return { from: { workload: from }, to: { workload: VAULT_SERVER }, ports: [{ port: VAULT_PORT }], purpose: 'Vault agent (secrets)' };
}
