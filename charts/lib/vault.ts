/**
 * How a workload consumes secrets: from Vault, through the agent injector, never from Git.
 *
 * A service declares its `SecretConsumer`s (ServiceDefinition.secretConsumers). From all of them
 * the Vault service renders one Kubernetes-auth role and one read-only policy per consumer (bound
 * to exactly that service account and namespace, reading exactly the `secretPath()` of each of its
 * secrets: `secret/data/<consumer>/...`, or a shared entry it names with `path`), and
 * the consumer's pods carry the injector annotations `vaultAgentAnnotations()` returns: the agent
 * writes each secret to a file under /vault/secrets/, where the application reads it.
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 */

/** Where Vault runs; consumers reach it there (NetworkPolicy) and the agent talks to it. */
export const VAULT_NAMESPACE = 'vault';
export const VAULT_SERVICE = 'vault';
export const VAULT_PORT = 8200;
/** The KV v2 mount every consumer's secrets live under. */
export const KV_MOUNT = 'secret';

/** One secret a consumer reads: the KV v2 entry `secret/data/<consumer>/<name>`. */
export interface VaultSecret {
  /** The entry's name under the consumer's path; also the file name the agent writes. */
  readonly name: string;
  /** The keys the entry holds (documented for the operator who loads them). */
  readonly keys: readonly string[];
  /**
   * The full KV v2 data path of an entry shared by several consumers (e.g. Harbor's robot
   * accounts, read by Harbor's setup Job and by the build pods). Must lie under `secret/data/`.
   * @default - `secret/data/<consumer>/<name>`
   */
  readonly path?: string;
  /**
   * A Consul template for the file's content. @default - each key on its own line as `key=value`
   * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations#vault-hashicorp-com-agent-inject-template
   */
  readonly template?: string;
}

/** A workload that reads secrets from Vault. */
export interface SecretConsumer {
  /** The Vault role and policy name, and the path prefix `secret/data/<name>/`. A DNS label. */
  readonly name: string;
  readonly namespace: string;
  /** The one service account the role is bound to. */
  readonly serviceAccount: string;
  readonly secrets: readonly VaultSecret[];
}

/** The KV v2 data path of one secret of a consumer. */
export function secretPath(consumer: SecretConsumer, secret: VaultSecret): string {
  if (secret.path !== undefined) {
    if (!/^secret\/data\/[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)+$/.test(secret.path)) {
      throw new Error(`vault consumer ${consumer.name}: secret ${secret.name}: path "${secret.path}" must be a KV v2 data path such as "${KV_MOUNT}/data/harbor-robots/ci-push"`);
    }
    return secret.path;
  }
  return `${KV_MOUNT}/data/${consumer.name}/${secret.name}`;
}

function defaultTemplate(consumer: SecretConsumer, secret: VaultSecret): string {
  const lines = secret.keys.map((key) => `${key}={{ .Data.data.${key} }}`).join('\n');
  return `{{- with secret "${secretPath(consumer, secret)}" -}}\n${lines}\n{{- end }}\n`;
}

/**
 * The pod-template annotations that make the injector add the agent: init container to render the
 * files before the app starts, a sidecar to keep them fresh, the role, and one template per secret.
 */
export function vaultAgentAnnotations(consumer: SecretConsumer): Record<string, string> {
  const annotations: Record<string, string> = {
    'vault.hashicorp.com/agent-inject': 'true',
    'vault.hashicorp.com/role': consumer.name,
    'vault.hashicorp.com/agent-pre-populate': 'true',
    // The agent's own containers run restricted like the app (the injector honours these).
    'vault.hashicorp.com/agent-run-as-user': '100',
    'vault.hashicorp.com/agent-run-as-group': '1000',
    'vault.hashicorp.com/agent-set-security-context': 'true',
  };
  for (const secret of consumer.secrets) {
    annotations[`vault.hashicorp.com/agent-inject-secret-${secret.name}`] = secretPath(consumer, secret);
    annotations[`vault.hashicorp.com/agent-inject-template-${secret.name}`] = secret.template ?? defaultTemplate(consumer, secret);
  }
  return annotations;
}
