import { Chart, Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvVar } from 'kubernetes-models/v1/EnvVar';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { CHARTS, IMAGES } from '../../../config/versions';
import { VELERO_CONSUMER, backupTtl, rgwEndpoint, statefulNamespaces, velero, veleroConfig } from '../../../charts/backup/velero';
import type { KubeObject } from '../../../charts/lib/service';
import type { RenderSummary, ServiceDefinition } from '../../../charts/lib/service';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);
const find = (kind: string, name: string, namespace: string) => objects().find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
const application = (name: string) => find('Application', name, 'argocd');
const values = () => application('velero').spec.sources[0].helm.valuesObject;

const service = (name: string, namespace: string): ServiceDefinition => ({ name, namespace, syncWave: 0, build: () => undefined });
const object = (kind: string, namespace: string, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name: 'x', namespace }, spec });

describe('Velero', () => {
  it('installs the pinned official chart with the S3 plugin, after Vault; its custom resources one wave later', () => {
    const source = application('velero').spec.sources[0];
    expect(source).toMatchObject({ repoURL: 'https://vmware-tanzu.github.io/helm-charts', chart: 'velero', targetRevision: CHARTS.velero.version, helm: { releaseName: 'velero' } });
    expect(values().initContainers).toEqual([
      {
        name: 'velero-plugin-for-aws',
        image: IMAGES.veleroPluginForAws,
        imagePullPolicy: 'IfNotPresent',
        volumeMounts: [{ mountPath: '/target', name: 'plugins' }],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      },
    ]);
    expect(IMAGES.veleroPluginForAws).toBe('velero/velero-plugin-for-aws:v1.14.4');
    const wave = (name: string) => Number(application(name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect([wave('vault'), wave('velero'), wave('velero-config')]).toEqual([3, 4, 5]);
    expect(application('velero-config').spec.source.path).toBe('dist/k8s/platform/velero-config');
  });

  it('backs volumes up as CSI snapshots: no node agent, no file-system backup, no data mover', () => {
    const configuration = values().configuration;
    expect(configuration).toMatchObject({ features: 'EnableCSI', defaultVolumesToFsBackup: false, defaultSnapshotMoveData: false, backupStorageLocation: [], volumeSnapshotLocation: [] });
    expect(values().deployNodeAgent).toBe(false);
    expect(values().snapshotsEnabled).toBe(false);
    expect(values().backupsEnabled).toBe(false);
    expect(values().upgradeCRDs).toBe(false);
    // The ceph-rbd snapshot class is the one Velero picks for the driver's volumes.
    const snapshotClass = objects().find((o) => o.kind === 'VolumeSnapshotClass' && o.metadata.name === 'ceph-rbd');
    expect(snapshotClass.metadata.labels['velero.io/csi-volumesnapshot-class']).toBe('true');
  });

  it('reads its S3 keys from Vault through the agent, never from a Secret', () => {
    const v = values();
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.configuration.extraEnvVars).toContainEqual({ name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/vault/secrets/rgw' });
    expect(v.podLabels).toEqual({ 'platform-synthesizer.io/vault-agent': 'inject' });
    expect(v.podAnnotations).toMatchObject({
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/role': 'velero',
      // Velero must run while Vault is down, to restore it: it does not wait for the keys.
      'vault.hashicorp.com/agent-pre-populate': 'false',
      'vault.hashicorp.com/agent-inject-secret-rgw': 'secret/data/velero/rgw',
      'vault.hashicorp.com/agent-inject-template-rgw':
        '{{- with secret "secret/data/velero/rgw" -}}\n[default]\naws_access_key_id={{ .Data.data.access_key_id }}\naws_secret_access_key={{ .Data.data.secret_access_key }}\n{{- end }}\n',
    });
    expect(v.extraVolumes).toEqual([{ name: 'vault-token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 'token' } }] } }]);
    expect(v.serviceAccount).toEqual({ server: { create: true, name: 'velero' } });
    expect(VELERO_CONSUMER).toMatchObject({ name: 'velero', namespace: 'velero', serviceAccount: 'velero' });
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('GIVEN the chart copies configuration.extraEnvVars into the container env WHEN rendered THEN it is a list of valid Kubernetes EnvVars', () => {
    // velero 12.1.0 declares the key an array (values.schema.json) and renders it with toYaml under
    // `env:`: a map is refused by Helm, and anything but EnvVars breaks the Deployment.
    const extra = values().configuration.extraEnvVars;
    expect(Array.isArray(extra), `configuration.extraEnvVars is ${JSON.stringify(extra)}`).toBe(true);
    expect(extra.length).toBeGreaterThan(0);
    for (const variable of extra) {
      expect(() => new EnvVar(variable).validate()).not.toThrow();
    }
  });

  it('runs non-root with a read-only root filesystem and exports metrics on 8085', () => {
    expect(values().podSecurityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values().containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(values().metrics).toEqual({ enabled: true, serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } });
  });

  it('stores backups in the RGW bucket of the model, by path', () => {
    const location = find('BackupStorageLocation', 'default', 'velero');
    expect(location.spec).toEqual({
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: 'velero-backups' },
      config: { region: 'default', s3ForcePathStyle: 'true', s3Url: 'http://192.168.10.21:7480' },
    });
  });

  it('backs up every namespace that holds state, daily at the model’s time, kept 30 days', () => {
    const schedule = find('Schedule', 'daily', 'velero');
    expect(schedule.spec).toEqual({
      schedule: '0 3 * * *',
      useOwnerReferencesInBackup: false,
      template: {
        includedNamespaces: ['databases', 'gitlab', 'harbor', 'jenkins', 'monitoring', 'vault'],
        storageLocation: 'default',
        ttl: '720h0m0s',
        snapshotVolumes: true,
        defaultVolumesToFsBackup: false,
        snapshotMoveData: false,
        csiSnapshotTimeout: '10m0s',
      },
    });
  });

  it('derives those namespaces from the render: claims, volume claim templates, charts with claims', () => {
    const render: RenderSummary = {
      services: [
        { env: 'platform', service: service('vault', 'vault'), objects: [], chartHoldsState: true },
        { env: 'platform', service: service('prometheus', 'monitoring'), objects: [object('StatefulSet', 'monitoring', { volumeClaimTemplates: [{}] })], chartHoldsState: false },
        { env: 'platform', service: service('cache', 'cache'), objects: [object('StatefulSet', 'cache', { volumeClaimTemplates: [] })], chartHoldsState: false },
        { env: 'prod', service: service('shop', 'prod-shop'), objects: [object('PersistentVolumeClaim', 'prod-shop'), object('Deployment', 'prod-shop')], chartHoldsState: false },
        { env: 'platform', service: service('argocd', 'argocd'), objects: [object('ConfigMap', 'argocd')], chartHoldsState: false },
      ],
    };
    expect(statefulNamespaces(render)).toEqual(['monitoring', 'prod-shop', 'vault']);
  });

  it('fails rather than back up everything when nothing holds state', () => {
    const chart = new Chart(Testing.app(), 'test');
    expect(() => veleroConfig.afterRender!(chart, platform, { services: [] })).toThrow(/^backups: no rendered service holds state/);
  });

  it('follows the model: schedule, retention, region and the RGW address', () => {
    expect(backupTtl(single)).toBe('336h0m0s');
    expect(backupTtl(platform)).toBe('720h0m0s');
    expect(rgwEndpoint(single)).toEqual({ url: 'https://10.10.0.31:8443', address: '10.10.0.31', port: 8443 });
    expect(rgwEndpoint({ ...platform, ceph: { ...platform.ceph, rgw: { ...platform.ceph.rgw, endpoint: 'http://10.0.0.5' } } })).toMatchObject({ port: 80 });
    const chart = new Chart(Testing.app(), 'test');
    veleroConfig.build(chart, single, { connections: [] });
    veleroConfig.afterRender!(chart, single, { services: [{ env: 'platform', service: service('vault', 'vault'), objects: [], chartHoldsState: true }] });
    const [location, schedule] = Testing.synth(chart);
    expect(location.spec.config).toEqual({ region: 'eu-1', s3ForcePathStyle: 'true', s3Url: 'https://10.10.0.31:8443' });
    expect(location.spec.objectStorage).toEqual({ bucket: 'backups' });
    expect(schedule.spec).toMatchObject({ schedule: '30 1 * * *', template: { ttl: '336h0m0s', includedNamespaces: ['vault'] } });
  });

  it('reaches only the RADOS Gateway, Vault, the API server and DNS; only Prometheus reaches it', () => {
    const evaluator = new NetworkPolicyEvaluator(objects());
    const server: Endpoint = { pod: { namespace: 'velero', labels: { 'app.kubernetes.io/name': 'velero' }, ip: '10.42.2.10' } };
    expect(evaluator.allows({ from: server, to: { ip: '192.168.10.21' }, port: 7480 })).toBe(true);
    expect(evaluator.allows({ from: server, to: { ip: '192.168.10.21' }, port: 6789 })).toBe(false);
    expect(evaluator.allows({ from: server, to: { ip: '8.8.8.8' }, port: 443 })).toBe(false);
    expect(evaluator.allows({ from: { pod: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.2.11' } }, to: server, port: 8085 })).toBe(true);
    expect(evaluator.allows({ from: { pod: { namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-server' }, ip: '10.42.2.12' } }, to: server, port: 8085 })).toBe(false);
    const namespace = objects().find((o) => o.kind === 'Namespace' && o.metadata.name === 'velero');
    // No node agent: the namespace stays restricted.
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('renders its folders and Applications, the storage location synced before the schedule', () => {
    const files = defaultRender();
    const picked = Object.fromEntries(
      [...files].filter(([path]) => /^k8s\/platform\/(velero|velero-config)\//.test(path) || /^k8s\/platform\/apps\/application-velero/.test(path)).map(([path, text]) => [path, parse(text)]),
    );
    expect(Object.keys(picked)).toEqual([
      'k8s/platform/apps/application-velero-config.yaml',
      'k8s/platform/apps/application-velero.yaml',
      'k8s/platform/velero-config/backupstoragelocation-default.yaml',
      'k8s/platform/velero-config/schedule-daily.yaml',
      'k8s/platform/velero/namespace-velero.yaml',
      'k8s/platform/velero/networkpolicy-allow-velero.yaml',
      'k8s/platform/velero/networkpolicy-default-deny.yaml',
    ]);
    expect(velero.syncWave).toBeLessThan(veleroConfig.syncWave);
  });
});
