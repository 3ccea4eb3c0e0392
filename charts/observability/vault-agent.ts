/**
 * How the observability workloads read their secrets from Vault, on top of charts/lib/vault.ts:
 * a secret rendered as one bare value (a password or URL file), and the agent's pieces in the
 * shape these charts use. The application containers get no API token (K8S-SA-01); the agent
 * logs in with the projected token for Vault's audience. The connection to Vault is added by the
 * render for every declared consumer.
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
 */
import type { Platform } from '../../config';
import { vaultAgentPod as agentPod, type SecretConsumer } from '../lib/vault';

export { rawValueSecret, secretFile, VAULT_SECRETS_DIR } from '../lib/vault';

/** The injector's label and annotations, and the token volume, for a consumer's pod template. */
export function vaultAgentPod(consumer: SecretConsumer, platform: Platform) {
  const pod = agentPod(consumer, platform);
  return { labels: pod.labels, annotations: pod.annotations, volume: pod.volumes[0] };
}
