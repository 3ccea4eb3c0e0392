/**
 * Helpers for the workloads that read their secrets through the agent injector. Their connection
 * to Vault is not declared here: the render adds it for every declared SecretConsumer.
 */
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
