import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../../config';
import { CHARTS, IMAGES } from '../../../config/versions';
import { allServices, PLATFORM_SERVICES } from '../../../charts/catalogue';
import { servicePlan } from '../../../charts/synth';
import { VAULT_ADDRESS, VAULT_METRICS, VAULT_PORT, VAULT_SERVICE, vaultTlsServerName } from '../../../charts/lib/vault';
import { AWS_KMS_SECRET, LISTENER_CERTIFICATE, sealConfig, Vault, vaultChart, type VaultChartProps, type VaultProps } from '../../../charts/security/vault';
import { serverConfig } from '../../../charts/security/vault-config';
import { ROOT } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';
import { parseHcl } from '../../support/vault';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';

const platform = loadDefaultPlatform();
const AUTO_UNSEAL = { provider: 'awskms', region: 'eu-central-1', keyAlias: 'alias/vault-unseal' } as const;
const CHART: VaultChartProps = { node: 'node-a', storageGiB: 10, tlsServerName: 'vault.example.com', autoUnseal: AUTO_UNSEAL, nodeCount: 3 };
/** The render's plan of the seed (every service's connections and Vault consumers), without rendering them. */
const planOf = (model: Platform) => servicePlan(model, allServices(model));
const PROPS: VaultProps = {
  host: 'vault.example.com',
  issuer: 'letsencrypt-prod',
  auth: {
    podCidr: '10.42.0.0/16',
    tokenTtl: '15m',
    tokenMaxTtl: '4h',
    oidc: { issuer: 'https://git.example.com', redirectUris: ['https://vault.example.com/ui/vault/auth/oidc/oidc/callback'], groups: { admin: 'admins', viewer: 'viewers' } },
  },
  plan: { connections: Vault.registration.connections!(platform) },
};

function objects(props: VaultProps = PROPS): any[] {
  const chart = Testing.chart();
  new Vault(chart, 'vault', props);
  return Testing.synth(chart);
}
const find = (kind: string, name: string, within = objects()) => within.find((o) => o.kind === kind && o.metadata.name === name);
const values = (props: VaultChartProps = CHART) => vaultChart(props).values as any;
const wave = (name: string) => PLATFORM_SERVICES.find((s) => s.name === name)!.syncWave;

describe('Vault', () => {
  it('GIVEN its registration WHEN the app-of-apps reads it THEN it installs the pinned official chart in wave 3, after the issuers, the storage class and the ingress controller', () => {
    expect(vaultChart(CHART)).toMatchObject({ repoURL: 'https://helm.releases.hashicorp.com', chart: 'vault', version: CHARTS.vault.version, releaseName: 'vault' });
    expect(Vault.registration).toMatchObject({ name: 'vault', namespace: 'vault', syncWave: 3 });
    expect(wave('vault')).toBe(3);
    for (const before of ['cert-manager-config', 'ceph-csi-config', 'nginx-ingress']) expect(wave(before), before).toBeLessThan(wave('vault'));
    expect(wave('velero')).toBeGreaterThan(wave('vault'));
  });

  it('GIVEN a node and a volume size WHEN the values are rendered THEN it runs one server with integrated Raft storage on a ceph-rbd volume of that size, on that node', () => {
    const server = values().server;
    expect(server.ha).toMatchObject({ enabled: true, replicas: 1, raft: { enabled: true, setNodeId: true }, disruptionBudget: { enabled: false } });
    expect(server.standalone).toEqual({ enabled: false });
    expect(server.dataStorage).toEqual({ enabled: true, size: '10Gi', storageClass: 'ceph-rbd' });
    expect(server.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(server.image).toEqual({ repository: 'hashicorp/vault', tag: IMAGES.vault.split(':')[1] });
    expect(values().injector.agentImage).toEqual(server.image);
    expect(vaultChart(CHART).persistentVolumeClaims).toBe(true);
    expect(values({ ...CHART, nodeCount: 1 }).injector.replicas).toBe(1);
  });

  it('GIVEN the seed and the one-node model WHEN the registration reads them THEN the chart gets their node, volume size and injector replicas', () => {
    const seed = Vault.registration.helm!(platform).values as any;
    expect(seed.server.dataStorage.size).toBe(`${platform.vault.storageGiB}Gi`);
    expect(seed.server.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-master' });
    expect(seed.injector.replicas).toBe(2);
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    expect((Vault.registration.helm!(single).values as any).server.dataStorage.size).toBe('5Gi');
    expect((Vault.registration.helm!(single).values as any).injector.replicas).toBe(1);
  });

  it('GIVEN the values WHEN the server configuration is parsed by the HCL parser THEN it has TLS on the listener, Raft storage and metrics without a token', (ctx) => {
    if (!requireValidator('hcltool', hasCommand('hcltool'), 'apt-get install python3-pyhcl')) ctx.skip();
    expect(values().global.tlsDisable).toBe(false);
    const config = parseHcl(values().server.ha.raft.config) as any;
    expect(values().server.ha.raft.config).toBe(serverConfig() + sealConfig(AUTO_UNSEAL));
    expect(config.listener.tcp).toEqual({
      address: '0.0.0.0:8200',
      cluster_address: '0.0.0.0:8201',
      tls_cert_file: '/vault/tls/tls.crt',
      tls_key_file: '/vault/tls/tls.key',
      tls_min_version: 'tls12',
      telemetry: { unauthenticated_metrics_access: true },
    });
    expect(JSON.stringify(config)).not.toContain('tls_disable');
    expect(config.storage).toEqual({ raft: { path: '/vault/data' } });
    expect(config.telemetry).toEqual({ prometheus_retention_time: '30s', disable_hostname: true });
    expect(VAULT_METRICS).toEqual({ scheme: 'https', port: 8200, path: '/v1/sys/metrics', params: { format: ['prometheus'] } });
  });

  it('GIVEN a host WHEN rendered THEN it serves a cert-manager certificate for it, mounted where the listener reads it, reloaded when renewed', () => {
    const certificate = find('Certificate', LISTENER_CERTIFICATE.name);
    expect(certificate.metadata.namespace).toBe('vault');
    expect(certificate.spec).toEqual({
      secretName: 'vault-server-tls',
      dnsNames: ['vault.example.com'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt-prod' },
      revisionHistoryLimit: 2,
    });
    const server = values().server;
    expect(server.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'vault-server-tls' } });
    expect(server.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/vault/tls', readOnly: true });
    // In-cluster clients connect to the Service and verify the certificate's name.
    expect(server.extraEnvironmentVars).toEqual({ VAULT_TLS_SERVER_NAME: 'vault.example.com' });
    expect(vaultTlsServerName(platform)).toBe('vault.lumetium.com');
    expect(VAULT_ADDRESS).toBe('https://vault.vault.svc:8200');
    const reloader = server.extraContainers.find((c: any) => c.name === 'tls-reloader');
    expect(reloader.command).toEqual(['/bin/sh', '/vault/platform/tls-reloader.sh']);
    expect(server.shareProcessNamespace).toBe(true);
  });

  it('GIVEN the values WHEN read THEN it runs non-root with a read-only root filesystem, keeps a sealed server alive and reports it unready', () => {
    const server = values().server;
    expect(server.statefulSet.securityContext.pod).toEqual({ runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(server.statefulSet.securityContext.container).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(server.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(server.livenessProbe).toEqual({ enabled: true, path: '/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204', initialDelaySeconds: 60 });
    expect(server.readinessProbe).toBeUndefined(); // the chart's `vault status`: fails while sealed
    expect(server.authDelegator).toEqual({ enabled: true });
    for (const container of server.extraContainers) expect(container.securityContext).toEqual(server.statefulSet.securityContext.container);
  });

  it('GIVEN several nodes WHEN the values are read THEN it injects agents only into pods that ask for one, and refuses them while the injector is down', () => {
    const injector = values().injector;
    expect(injector.enabled).toBe(true);
    expect(injector.webhook).toEqual({ failurePolicy: 'Fail', timeoutSeconds: 10, objectSelector: { matchLabels: { 'platform-synthesizer.io/vault-agent': 'inject' } } });
    expect(injector.securityContext.pod).toMatchObject({ runAsNonRoot: true, runAsUser: 100 });
    expect(injector.replicas).toBe(2);
  });

  it('GIVEN a host WHEN rendered THEN it serves it through an Ingress with TLS that re-encrypts to the listener', () => {
    const ingress = find('Ingress', 'vault');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod', 'nginx.org/ssl-services': 'vault' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['vault.example.com'], secretName: 'vault-tls' }],
      rules: [{ host: 'vault.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: VAULT_SERVICE, port: { number: VAULT_PORT } } } }] } }],
    });
  });

  it('WHEN rendered THEN it applies its configuration with a PostSync Job and an hourly CronJob, logged in with a projected token for Vault', () => {
    const rendered = objects();
    const job = find('Job', 'vault-config', rendered);
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    expect(job.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 300, ttlSecondsAfterFinished: 86400 });
    const cron = find('CronJob', 'vault-config-reconcile', rendered);
    expect(cron.spec).toMatchObject({ schedule: '23 * * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 600 });
    expect(cron.spec.jobTemplate.spec.template).toEqual(job.spec.template);
    const pod = job.spec.template.spec;
    expect(pod.serviceAccountName).toBe('vault-config');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find('ServiceAccount', 'vault-config', rendered).automountServiceAccountToken).toBe(false);
    expect(pod.volumes).toContainEqual({ name: 'vault-token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 'token' } }] } });
    expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'vault-config' } });
    const [container] = pod.containers;
    expect(container.image).toBe(IMAGES.vault);
    expect(container.command).toEqual(['/bin/sh', '/vault/platform/apply.sh']);
    expect(container.env).toEqual([
      { name: 'VAULT_ADDR', value: 'https://vault.vault.svc:8200' },
      { name: 'VAULT_TLS_SERVER_NAME', value: 'vault.example.com' },
      { name: 'HOME', value: '/tmp' },
    ]);
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it("GIVEN the seed's plan WHEN rendered THEN it is isolated: reached only by the ingress controller, Prometheus, its configuration Job and the secret consumers", () => {
    const rendered = objects({ ...PROPS, plan: planOf(platform) });
    const namespace = find('Namespace', 'vault', rendered);
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    const evaluator = new NetworkPolicyEvaluator(rendered);
    const pod = (namespace: string, name: string, ip: string): Endpoint => ({ pod: { namespace, labels: { 'app.kubernetes.io/name': name }, ip } });
    const server = pod('vault', 'vault', '10.42.1.10');
    const allowed = [
      pod('nginx-ingress', 'nginx-ingress', '10.42.1.11'),
      pod('monitoring', 'prometheus', '10.42.1.12'),
      pod('vault', 'vault-config', '10.42.1.13'),
      pod('databases', 'postgresql', '10.42.1.14'),
    ];
    for (const from of allowed) expect(evaluator.allows({ from, to: server, port: 8200 }), JSON.stringify(from)).toBe(true);
    for (const from of [pod('argocd', 'argocd-server', '10.42.1.15'), pod('vault', 'intruder', '10.42.1.16'), { ip: '192.168.10.50' }]) {
      expect(evaluator.allows({ from, to: server, port: 8200 }), JSON.stringify(from)).toBe(false);
    }
    // Out: AWS KMS over HTTPS (auto-unseal), nothing else outside the cluster.
    expect(evaluator.allows({ from: server, to: { ip: '52.119.188.1' }, port: 443 })).toBe(true);
    expect(evaluator.allows({ from: server, to: { ip: '52.119.188.1' }, port: 80 })).toBe(false);
    expect(evaluator.allows({ from: server, to: { ip: '192.168.10.50' }, port: 443 })).toBe(false);
  });

  describe('auto-unseal through AWS KMS', () => {
    const shamir: Platform = { ...platform, vault: { ...platform.vault, autoUnseal: undefined } };

    it('GIVEN auto-unseal WHEN rendered THEN the server config has an awskms seal with the region and key alias, and no credentials (parsed by the HCL parser)', (ctx) => {
      if (!requireValidator('hcltool', hasCommand('hcltool'), 'apt-get install python3-pyhcl')) ctx.skip();
      const config = parseHcl(values().server.ha.raft.config) as any;
      expect(config.seal).toEqual({ awskms: { region: 'eu-central-1', kms_key_id: 'alias/vault-unseal' } });
      const seed = parseHcl((Vault.registration.helm!(platform).values as any).server.ha.raft.config) as any;
      expect(seed.seal).toEqual({ awskms: { region: platform.vault.autoUnseal!.region, kms_key_id: platform.vault.autoUnseal!.keyAlias } });
      expect(platform.vault.autoUnseal!.keyAlias).toMatch(/^alias\//);
      // The listener and storage stay what the Shamir setup has.
      expect(config.storage).toEqual({ raft: { path: '/vault/data' } });
    });

    it('GIVEN auto-unseal WHEN rendered THEN the access key reaches the server as environment variables from the hand-made Secret', () => {
      expect(values().server.extraSecretEnvironmentVars).toEqual([
        { envName: 'AWS_ACCESS_KEY_ID', secretName: 'vault-awskms', secretKey: 'AWS_ACCESS_KEY_ID' },
        { envName: 'AWS_SECRET_ACCESS_KEY', secretName: 'vault-awskms', secretKey: 'AWS_SECRET_ACCESS_KEY' },
      ]);
      expect(AWS_KMS_SECRET.name).toBe('vault-awskms');
      // The Secret is made by hand, never rendered.
      expect(objects().some((o) => o.kind === 'Secret' && o.metadata.name === AWS_KMS_SECRET.name)).toBe(false);
    });

    it('GIVEN no auto-unseal WHEN rendered THEN the Shamir setup is unchanged: no seal stanza, no AWS credentials, no way out to the internet', (ctx) => {
      const server = values({ ...CHART, autoUnseal: undefined }).server;
      expect(server.ha.raft.config).toBe(serverConfig());
      expect(server.extraSecretEnvironmentVars).toBeUndefined();
      expect(sealConfig(undefined)).toBe('');
      expect((Vault.registration.helm!(shamir).values as any).server.ha.raft.config).toBe(serverConfig());
      const evaluator = new NetworkPolicyEvaluator(objects({ ...PROPS, plan: planOf(shamir) }));
      const server0: Endpoint = { pod: { namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' }, ip: '10.42.1.10' } };
      expect(evaluator.allows({ from: server0, to: { ip: '52.119.188.1' }, port: 443 })).toBe(false);
      if (!requireValidator('hcltool', hasCommand('hcltool'), 'apt-get install python3-pyhcl')) ctx.skip();
      expect((parseHcl(server.ha.raft.config) as any).seal).toBeUndefined();
    });

    it('GIVEN auto-unseal on and off WHEN the values are compared THEN only the seal stanza and the credentials differ', () => {
      const on = values().server;
      const off = values({ ...CHART, autoUnseal: undefined }).server;
      const { extraSecretEnvironmentVars, ha, ...restOn } = on;
      const { ha: haOff, ...restOff } = off;
      expect(extraSecretEnvironmentVars).toHaveLength(2);
      expect(restOn).toEqual(restOff);
      expect({ ...ha, raft: { ...ha.raft, config: undefined } }).toEqual({ ...haOff, raft: { ...haOff.raft, config: undefined } });
    });
  });

  it('fails when a model that skipped validation gives Vault no host (its certificate needs one)', () => {
    const noHost = { ...platform, services: { ...platform.services, vault: { node: 'k3s-master' } } };
    expect(() => Vault.registration.helm!(noHost)).toThrow('services.vault.host: (missing): Vault needs a host under the domain for its UI and its TLS certificate, e.g. "vault.example.com"');
  });

  it('WHEN rendered THEN its folder holds the server certificate, configuration Job and reconcile CronJob, ingress and isolation', () => {
    const files = objects().map((o) => `${o.kind.toLowerCase()}-${o.metadata.name}`).sort();
    expect(files).toEqual([
      'certificate-vault-server',
      'configmap-vault-config',
      'cronjob-vault-config-reconcile',
      'ingress-vault',
      'job-vault-config',
      'namespace-vault',
      'networkpolicy-allow-vault',
      'networkpolicy-allow-vault-agent-injector',
      'networkpolicy-allow-vault-config',
      'networkpolicy-default-deny',
      'serviceaccount-vault-config',
    ]);
  });
});
