/**
 * Vault as a network peer of the workloads that read secrets through the agent injector: the
 * agent (init container, or sidecar) talks to `vault.vault.svc:8200` (and resolves it through DNS,
 * which each workload declares anyway). The Vault service (charts/security/) runs the pods this
 * workload stands for.
 */
import { connect, type Connection, type Workload } from '../lib/network';
import { VAULT_NAMESPACE, VAULT_PORT, VAULT_SERVICE } from '../lib/vault';

export const VAULT: Workload = { namespace: VAULT_NAMESPACE, name: VAULT_SERVICE, ports: { vault: VAULT_PORT } };

/** Vault's API, for the injected agent of `from`'s pods. */
export function vaultAgentAccess(from: Workload): Connection {
  return connect({ workload: from }, VAULT, ['vault'], 'Vault agent (secrets)');
}

/**
 * Injector settings for pods that read their secrets once, at start: the agent runs only as an
 * init container (no sidecar to keep alive, and a Job can finish), first among the init
 * containers, so ours find the files in /vault/secrets.
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 */
export const READ_AT_START = {
  'vault.hashicorp.com/agent-pre-populate-only': 'true',
  'vault.hashicorp.com/agent-init-first': 'true',
} as const;

/** The file the agent writes for a secret. */
export function vaultFile(name: string): string {
  return `/vault/secrets/${name}`;
}

/** A template that writes one key's value alone, with no newline (a password file). */
export function rawValueTemplate(path: string, key = 'password'): string {
  return `{{- with secret "${path}" -}}{{ .Data.data.${key} }}{{- end -}}`;
}
