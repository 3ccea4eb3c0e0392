import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { NamespacePolicies } from '../../../charts/lib/network';
import {
  kvPutPath,
  secretFile,
  secretPath,
  vaultAgentPod,
  vaultClientConnection,
  VAULT_SERVER,
  type SecretConsumer,
} from '../../../charts/lib/vault';

const platform = loadDefaultPlatform();

/** A consumer as an application would declare it: one line in its service definition. */
const grafana: SecretConsumer = {
  name: 'grafana',
  namespace: 'monitoring',
  serviceAccount: 'grafana',
  secrets: [{ name: 'admin', keys: ['user', 'password'] }],
};

describe('consuming secrets from Vault', () => {
  it('gives a pod the injector label, the agent annotations and the token it logs in with', () => {
    expect(vaultAgentPod(grafana, platform)).toEqual({
      labels: { 'platform-synthesizer.io/vault-agent': 'inject' },
      annotations: {
        'vault.hashicorp.com/agent-inject': 'true',
        'vault.hashicorp.com/role': 'grafana',
        'vault.hashicorp.com/agent-pre-populate': 'true',
        'vault.hashicorp.com/agent-run-as-user': '100',
        'vault.hashicorp.com/agent-run-as-group': '1000',
        'vault.hashicorp.com/agent-set-security-context': 'true',
        'vault.hashicorp.com/service': 'https://vault.vault.svc:8200',
        'vault.hashicorp.com/tls-server-name': 'vault.lumetium.com',
        'vault.hashicorp.com/agent-service-account-token-volume-name': 'vault-token',
        'vault.hashicorp.com/agent-inject-secret-admin': 'secret/data/grafana/admin',
        'vault.hashicorp.com/agent-inject-template-admin':
          '{{- with secret "secret/data/grafana/admin" -}}\nuser={{ .Data.data.user }}\npassword={{ .Data.data.password }}\n{{- end }}\n',
      },
      volumes: [{ name: 'vault-token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 'token' } }] } }],
      serviceAccountName: 'grafana',
    });
    expect(secretPath(grafana, grafana.secrets[0])).toBe('secret/data/grafana/admin');
    expect(kvPutPath(grafana, grafana.secrets[0])).toBe('secret/grafana/admin');
    expect(secretFile(grafana.secrets[0])).toBe('/vault/secrets/admin');
  });

  it('lets a workload start before its secrets only when it says so', () => {
    expect(vaultAgentPod({ ...grafana, prePopulate: false }, platform).annotations['vault.hashicorp.com/agent-pre-populate']).toBe('false');
  });

  it('opens both halves of the connection to Vault from one declaration', () => {
    const connection = vaultClientConnection(grafana);
    expect(connection).toEqual({
      // The consumer's pods run as the ServiceAccount its role is bound to (their mesh identity).
      from: { workload: { namespace: 'monitoring', name: 'grafana', serviceAccount: 'grafana' } },
      to: { workload: VAULT_SERVER },
      ports: [{ port: 8200 }],
      purpose: 'Vault (secrets of grafana)',
    });
    const chart = new Chart(Testing.app(), 'test');
    new NamespacePolicies(chart, 'monitoring', {
      namespace: 'monitoring',
      workloads: [{ namespace: 'monitoring', name: 'grafana', receivesNothing: true }],
      plan: { connections: [connection] },
    });
    const policy = Testing.synth(chart).find((o) => o.metadata.name === 'allow-grafana');
    expect(policy.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'vault' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vault' } } }],
        ports: [{ port: 8200, protocol: 'TCP' }],
      },
    ]);
  });

  it('fails when the model gives Vault no host to verify', () => {
    const noHost = { ...platform, services: { ...platform.services, vault: { node: 'k3s-master' } } };
    expect(() => vaultAgentPod(grafana, noHost)).toThrow(/^services\.vault\.host: \(missing\)/);
  });
});
