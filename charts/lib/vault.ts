/**
 * How a workload consumes secrets: from Vault, through the agent injector, never from Git.
 *
 * A service declares its `SecretConsumer`s (ServiceDefinition.secretConsumers). From all of them
 * the render derives, with nothing else to write:
 *  - one Kubernetes-auth role and one read-only policy per consumer in Vault (charts/security/
 *    vault-config.ts): bound to exactly that service account and namespace, reading only the
 *    consumer's own declared entries under `secret/data/<consumer>/`;
 *  - the consumer's connection to Vault (its egress and Vault's ingress NetworkPolicy halves).
 * The consumer's pods carry `vaultAgentPod()`: the injector's label and annotations and the
 * projected token the agent logs in with. The agent writes each secret to a file under
 * /vault/secrets/, where the application reads it.
 *
 * Trust: Vault's listener serves a Let's Encrypt certificate for its public host (cert-manager,
 * DNS-01). Agents connect to the in-cluster Service and verify that name against the public roots
 * their image ships (`tls-server-name`), so no private CA has to reach every namespace
 * (docs/decisions/0020-vault-tls-and-agent-trust.md).
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 */
import type { Platform } from '../../config';
import type { Connection, Workload } from './network';

/** Where Vault runs; consumers reach it there (NetworkPolicy) and the agent talks to it. */
export const VAULT_NAMESPACE = 'vault';
export const VAULT_SERVICE = 'vault';
export const VAULT_PORT = 8200;
/** The KV v2 mount every consumer's secrets live under. */
export const KV_MOUNT = 'secret';
/** The mount path of the Kubernetes auth method (`auth/kubernetes`). */
export const KUBERNETES_AUTH_MOUNT = 'kubernetes';
/**
 * The audience of the service account tokens pods log in with; every role requires it, so a
 * token issued for the API server (or anything else) is refused by Vault (VAULT-03).
 */
export const VAULT_AUDIENCE = 'vault';
/** The projected volume holding that token; only the injected agent mounts it, not the app. */
export const VAULT_TOKEN_VOLUME = 'vault-token';
/** The token's lifetime: the kubelet's minimum; it rotates the file long before expiry. */
export const VAULT_TOKEN_EXPIRATION_SECONDS = 600;
/**
 * The label the injector's webhook selects pods by. The webhook fails closed (a pod that needs
 * secrets is not started without its agent), so it must see only the pods that ask for one.
 */
export const VAULT_AGENT_LABEL = 'platform-synthesizer.io/vault-agent';
/** The user and group the injected agent containers run as (the image's `vault` user). */
export const VAULT_AGENT_UID = 100;
export const VAULT_AGENT_GID = 1000;
/**
 * The role (and service account) Vault's own configuration Job logs in with
 * (charts/security/vault-config.ts); no consumer may take the name.
 */
export const VAULT_CONFIG_ROLE = 'vault-config';
/** Where Prometheus scrapes Vault: unauthenticated, metrics only (`unauthenticated_metrics_access`). */
export const VAULT_METRICS = { scheme: 'https', port: VAULT_PORT, path: '/v1/sys/metrics', params: { format: ['prometheus'] } } as const;

/**
 * Vault's server pods (the chart labels them `app.kubernetes.io/name: vault`). The chart's liveness
 * probe is an HTTPS GET of the API port (hashicorp/vault-helm templates/server-statefulset.yaml,
 * `scheme: {{ include "vault.scheme" . | upper }}`).
 */
export const VAULT_SERVER: Workload = { namespace: VAULT_NAMESPACE, name: 'vault', ports: { https: VAULT_PORT }, nonHttpProbePorts: ['https'] };

/** Vault's in-cluster address: the injector and every client use it. */
export const VAULT_ADDRESS = `https://${VAULT_SERVICE}.${VAULT_NAMESPACE}.svc:${VAULT_PORT}`;

/**
 * The name Vault's certificate is issued for, which every in-cluster client verifies
 * (`VAULT_TLS_SERVER_NAME`, the agent's `tls-server-name`, Prometheus' `tls_config.server_name`).
 */
export function vaultTlsServerName(platform: Platform): string {
  const host = platform.services.vault.host;
  if (!host) {
    throw new Error('services.vault.host: (missing): Vault needs a host under the domain for its UI and its TLS certificate, e.g. "vault.example.com"');
  }
  return host;
}

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
  /**
   * The platform service whose running instance issues the value (e.g. a GitLab access token):
   * the entry can be loaded only once that service is Healthy, so its consumer must sync in a
   * later wave (test/bringup.test.ts). @default - the operator generates or knows the value and
   * loads it at the runbook's Vault step
   */
  readonly issuedBy?: string;
}

/** A workload that reads secrets from Vault. */
export interface SecretConsumer {
  /** The Vault role and policy name, and the path prefix `secret/data/<name>/`. A DNS label. */
  readonly name: string;
  readonly namespace: string;
  /** The one service account the role is bound to. */
  readonly serviceAccount: string;
  readonly secrets: readonly VaultSecret[];
  /**
   * The consumer's pods, for its connection to Vault.
   * @default - pods labelled `app.kubernetes.io/name: <name>` in `namespace`
   */
  readonly workload?: Workload;
  /**
   * Whether the pod waits for its secrets before the application starts (an init container
   * renders them first). False only for a workload that must run while Vault is down, such as
   * Velero, which restores Vault itself.
   * @default true
   */
  readonly prePopulate?: boolean;
}

/** Where the agent writes the secrets, in every container of the pod (a memory volume). */
export const VAULT_SECRETS_DIR = '/vault/secrets';

/** The file the agent renders a secret into. */
export function secretFile(secret: VaultSecret): string {
  return `${VAULT_SECRETS_DIR}/${secret.name}`;
}

/**
 * A secret rendered as the bare value of one key of `secret/data/<consumer>/<name>` (a password,
 * token or URL file, not `key=value` lines): what programs that read a secret from a file expect.
 */
export function rawValueSecret(consumer: string, name: string, key: string): VaultSecret {
  return {
    name,
    keys: [key],
    template: `{{- with secret "${KV_MOUNT}/data/${consumer}/${name}" -}}{{ index .Data.data "${key}" }}{{- end }}`,
  };
}

/** The KV v2 data path of one secret of a consumer. */
export function secretPath(consumer: Pick<SecretConsumer, 'name'>, secret: Pick<VaultSecret, 'name' | 'path'>): string {
  if (secret.path !== undefined) {
    if (!/^secret\/data\/[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)+$/.test(secret.path)) {
      throw new Error(`vault consumer ${consumer.name}: secret ${secret.name}: path "${secret.path}" must be a KV v2 data path such as "${KV_MOUNT}/data/harbor-robots/apps/hello"`);
    }
    return secret.path;
  }
  return `${KV_MOUNT}/data/${consumer.name}/${secret.name}`;
}

/** The path an operator writes with `vault kv put` (the KV v2 CLI adds `data/` itself). */
export function kvPutPath(consumer: SecretConsumer, secret: VaultSecret): string {
  return secretPath(consumer, secret).replace(`${KV_MOUNT}/data/`, `${KV_MOUNT}/`);
}

/** The pods the consumer's role serves. */
export function consumerWorkload(consumer: SecretConsumer): Workload {
  // Its pods run as the account the role is bound to: with the mesh on, that is their identity.
  return consumer.workload ?? { namespace: consumer.namespace, name: consumer.name, serviceAccount: consumer.serviceAccount };
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
/** A key the default template can address as `.Data.data.<key>`. */
const TEMPLATE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks the consumers of a render: names that fit Vault paths and annotation keys, and no two
 * consumers sharing a role name or a service account (each identity reads one consumer's paths).
 */
export function validateSecretConsumers(consumers: readonly SecretConsumer[], reserved: readonly string[] = [VAULT_CONFIG_ROLE]): void {
  const names = new Map<string, SecretConsumer>();
  const accounts = new Map<string, string>();
  for (const consumer of consumers) {
    const where = `vault consumer ${consumer.name}`;
    if (!DNS_LABEL.test(consumer.name)) throw new Error(`${where}: the name must be a DNS label (it names the Vault role, its policy and its path), e.g. "grafana"`);
    if (reserved.includes(consumer.name)) throw new Error(`${where}: the name is reserved for Vault's own configuration role; choose another`);
    if (names.has(consumer.name)) throw new Error(`${where}: declared twice; every consumer needs its own name (role, policy and path)`);
    names.set(consumer.name, consumer);
    if (!DNS_LABEL.test(consumer.namespace)) throw new Error(`${where}: namespace "${consumer.namespace}" is not a DNS label`);
    if (!SUBDOMAIN.test(consumer.serviceAccount)) throw new Error(`${where}: service account "${consumer.serviceAccount}" is not a valid Kubernetes name`);
    const account = `${consumer.namespace}/${consumer.serviceAccount}`;
    const other = accounts.get(account);
    if (other) throw new Error(`${where}: service account ${account} is already bound to consumer ${other}; give each consumer its own service account`);
    accounts.set(account, consumer.name);
    const workload = consumerWorkload(consumer);
    if (workload.namespace !== consumer.namespace) throw new Error(`${where}: its workload runs in ${workload.namespace}, not in ${consumer.namespace}`);
    if (consumer.secrets.length === 0) throw new Error(`${where}: declares no secret; remove it or name the entries it reads`);
    const secrets = new Set<string>();
    for (const secret of consumer.secrets) {
      if (!DNS_LABEL.test(secret.name)) throw new Error(`${where}: secret "${secret.name}" must be a DNS label (it names the file and the Vault entry), e.g. "admin"`);
      if (secrets.has(secret.name)) throw new Error(`${where}: secret ${secret.name} is declared twice`);
      secrets.add(secret.name);
      if (secret.keys.length === 0) throw new Error(`${where}: secret ${secret.name} lists no keys; name the keys the entry holds`);
      for (const key of secret.keys) {
        if (!TEMPLATE_KEY.test(key)) throw new Error(`${where}: secret ${secret.name}: key "${key}" must be letters, digits and "_" (the template reads .Data.data.<key>)`);
      }
    }
  }
}

function defaultTemplate(consumer: SecretConsumer, secret: VaultSecret): string {
  const lines = secret.keys.map((key) => `${key}={{ .Data.data.${key} }}`).join('\n');
  return `{{- with secret "${secretPath(consumer, secret)}" -}}\n${lines}\n{{- end }}\n`;
}

/**
 * The pod-template annotations that make the injector add the agent: an init container renders
 * the files before the app starts (unless `prePopulate` is false), a sidecar keeps them fresh;
 * the role, the address and TLS name of Vault, the token volume, and one template per secret.
 */
export function vaultAgentAnnotations(consumer: SecretConsumer, platform: Platform): Record<string, string> {
  return agentAnnotations(consumer, vaultTlsServerName(platform));
}

/** `vaultAgentAnnotations` for a construct that holds Vault's TLS server name as a prop. */
function agentAnnotations(consumer: SecretConsumer, tlsServerName: string): Record<string, string> {
  const annotations: Record<string, string> = {
    'vault.hashicorp.com/agent-inject': 'true',
    'vault.hashicorp.com/role': consumer.name,
    'vault.hashicorp.com/agent-pre-populate': String(consumer.prePopulate ?? true),
    // The agent's own containers run restricted like the app (the injector honours these).
    'vault.hashicorp.com/agent-run-as-user': String(VAULT_AGENT_UID),
    'vault.hashicorp.com/agent-run-as-group': String(VAULT_AGENT_GID),
    'vault.hashicorp.com/agent-set-security-context': 'true',
    'vault.hashicorp.com/service': VAULT_ADDRESS,
    'vault.hashicorp.com/tls-server-name': tlsServerName,
    // The agent logs in with the projected token issued for Vault's audience, not the API token.
    'vault.hashicorp.com/agent-service-account-token-volume-name': VAULT_TOKEN_VOLUME,
  };
  for (const secret of consumer.secrets) {
    annotations[`vault.hashicorp.com/agent-inject-secret-${secret.name}`] = secretPath(consumer, secret);
    annotations[`vault.hashicorp.com/agent-inject-template-${secret.name}`] = secret.template ?? defaultTemplate(consumer, secret);
  }
  return annotations;
}

/** The label that lets the injector's webhook see the pod. */
export function vaultAgentLabels(): Record<string, string> {
  return { [VAULT_AGENT_LABEL]: 'inject' };
}

/** The projected service account token the agent presents to Vault (audience `vault`, 10 minutes). */
export function vaultTokenVolume() {
  return {
    name: VAULT_TOKEN_VOLUME,
    projected: {
      sources: [{ serviceAccountToken: { audience: VAULT_AUDIENCE, expirationSeconds: VAULT_TOKEN_EXPIRATION_SECONDS, path: 'token' } }],
    },
  };
}

/**
 * Everything a consumer's pod template needs, for rendered pods and for chart values alike:
 * spread `labels` and `annotations` into the template's metadata, add `volumes` to its spec, and
 * run it as `serviceAccount`. The app containers mount nothing of it; the injector mounts the
 * token into the agent only.
 */
export function vaultAgentPod(consumer: SecretConsumer, platform: Platform) {
  return vaultAgentPodFor(consumer, vaultTlsServerName(platform));
}

/**
 * `vaultAgentPod` from Vault's TLS server name (`vaultTlsServerName`) rather than the whole
 * model: what a construct's props carry (the workload family's `vaultAgent` prop takes it).
 */
export function vaultAgentPodFor(consumer: SecretConsumer, tlsServerName: string) {
  return {
    labels: vaultAgentLabels(),
    annotations: agentAnnotations(consumer, tlsServerName),
    volumes: [vaultTokenVolume()],
    serviceAccountName: consumer.serviceAccount,
  };
}

/** A consumer's pods may open connections to Vault's API (both halves rendered from this). */
export function vaultClientConnection(consumer: SecretConsumer): Connection {
  return {
    from: { workload: consumerWorkload(consumer) },
    to: { workload: VAULT_SERVER },
    ports: [{ port: VAULT_PORT }],
    purpose: `Vault (secrets of ${consumer.name})`,
  };
}
