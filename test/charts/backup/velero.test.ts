import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform } from '../../../config';
import { CHARTS, IMAGES } from '../../../config/versions';
import { scrapedBy } from '../../../charts/lib/network';
import { NODE_AGENT_CONFIG, VELERO_CREDENTIALS, VELERO_SERVER, Velero, VeleroConfig, backupStorage, backupTtl, rgwEndpoint, statefulNamespaces, type BackupStorage } from '../../../charts/backup/velero';
import { POLICY_EXCEPTIONS_ANNOTATION } from '../../../common/policy-exceptions';
import type { KubeObject } from '../../../charts/lib/service';
import type { RenderSummary, ServiceDefinition } from '../../../charts/lib/service';
import { POLICY_GROUP } from '../../../charts/lib/mesh-policy';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);
const find = (kind: string, name: string, namespace: string) => objects().find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
const application = (name: string) => find('Application', name, 'argocd');
const values = () => Velero.registration.helm!(platform).values as any;
const OFFSITE: BackupStorage = { bucket: 'velero-offsite', region: 'eu-central-1' };

/** The velero service alone, with its own connections and Prometheus' scrape: its namespace and the node agent's ConfigMap. */
function synthVelero(): any[] {
  const chart = Testing.chart();
  new Velero(chart, 'velero', { plan: { connections: [...Velero.registration.connections!(platform), scrapedBy(VELERO_SERVER, 'metrics')] } });
  return Testing.synth(chart);
}

/** velero-config alone: its storage location, and the Schedule its afterRender adds for the given render. */
function synthVeleroConfig(storage: BackupStorage, model = platform, render?: RenderSummary): any[] {
  const chart = Testing.chart();
  new VeleroConfig(chart, 'velero-config', { storage });
  if (render) VeleroConfig.registration.afterRender!(chart, model, render);
  return Testing.synth(chart);
}
const ofKind = (rendered: any[], kind: string) => rendered.find((o) => o.kind === kind);

const service = (name: string, namespace: string): ServiceDefinition => ({ name, namespace, syncWave: 0, build: () => undefined });
const object = (kind: string, namespace: string, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name: 'x', namespace }, spec });

describe('Velero', () => {
  it('GIVEN the pinned chart WHEN its source renders THEN it is the official chart with the S3 plugin; its custom resources one wave later', () => {
    const source = Velero.registration.helm!(platform);
    expect(source).toMatchObject({ repoURL: 'https://vmware-tanzu.github.io/helm-charts', chart: 'velero', version: CHARTS.velero.version, releaseName: 'velero' });
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
    expect(Velero.registration.syncWave).toBeLessThan(VeleroConfig.registration.syncWave);
  });

  it('GIVEN the daily backup WHEN its volumes are snapshotted THEN the node agent moves each snapshot into the bucket with kopia', () => {
    const configuration = values().configuration;
    expect(configuration).toMatchObject({ features: 'EnableCSI', defaultVolumesToFsBackup: false, defaultSnapshotMoveData: true, uploaderType: 'kopia', backupStorageLocation: [], volumeSnapshotLocation: [] });
    const schedule = ofKind(synthVeleroConfig(OFFSITE, platform, { services: [{ env: 'platform', service: service('vault', 'vault'), objects: [], chartHoldsState: true }] }), 'Schedule');
    expect(schedule.spec.template).toMatchObject({ snapshotVolumes: true, snapshotMoveData: true, defaultVolumesToFsBackup: false });
    expect(values().deployNodeAgent).toBe(true);
    expect(values().snapshotsEnabled).toBe(false);
    expect(values().backupsEnabled).toBe(false);
    expect(values().upgradeCRDs).toBe(false);
  });

  it('GIVEN the node agent WHEN rendered THEN it mounts no host path, adds no capability, runs unprivileged and reads its data-path ConfigMap', () => {
    const agent = values().nodeAgent;
    expect(agent.disableHostPath).toBe(true);
    expect(agent.containerSecurityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // Root as upstream runs it (the documented variant), with seccomp and nothing else loosened.
    expect(agent.podSecurityContext).toEqual({ runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } });
    expect(agent.resources.limits).toBeDefined();
    // Velero writes credentials files under /tmp; the root is read-only.
    expect(agent.extraVolumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(agent.extraArgs).toEqual([`--node-agent-configmap=${NODE_AGENT_CONFIG}`]);
    const config = synthVelero().find((o) => o.kind === 'ConfigMap' && o.metadata.name === NODE_AGENT_CONFIG && o.metadata.namespace === 'velero');
    // The node agent refuses a ConfigMap with more than one key.
    expect(Object.keys(config.data)).toHaveLength(1);
    const json = JSON.parse(Object.values(config.data)[0] as string);
    expect(json.podLabels).toEqual({ 'app.kubernetes.io/name': 'velero-data-mover' });
    expect(values().configuration.repositoryMaintenanceJob.repositoryConfigData.global.podLabels).toEqual(json.podLabels);
  });

  it('GIVEN the node agent and the pods it starts run as root WHEN the namespace is labelled THEN it is baseline, not privileged, with its reason', () => {
    const namespace = synthVelero().find((o) => o.kind === 'Namespace' && o.metadata.name === 'velero');
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('baseline');
    expect(namespace.metadata.annotations[POLICY_EXCEPTIONS_ANNOTATION]).toMatch(/K8S-SEC-11/);
  });

  it('GIVEN the data mover pods cannot carry a Vault agent WHEN the storage location is rendered THEN it names the by-hand Secret with the bucket keys, and Git holds no Secret', () => {
    const v = values();
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.configuration.extraEnvVars).toBeUndefined();
    expect(v.podAnnotations).toBeUndefined();
    expect(v.serviceAccount).toEqual({ server: { create: true, name: 'velero' } });
    expect(ofKind(synthVeleroConfig(OFFSITE), 'BackupStorageLocation').spec.credential).toEqual({ name: VELERO_CREDENTIALS.name, key: VELERO_CREDENTIALS.key });
    expect([...synthVelero(), ...synthVeleroConfig(OFFSITE)].filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('GIVEN the server WHEN its values render THEN it runs non-root with a read-only root filesystem and exports metrics on 8085', () => {
    expect(values().podSecurityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values().containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(values().metrics).toEqual({ enabled: true, serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } });
  });

  it('GIVEN backups.offsite WHEN the storage location is rendered THEN it is the one default location, in the AWS bucket and region of the model, not the RADOS Gateway', () => {
    const offsite = platform.backups.offsite!;
    expect(offsite).toBeDefined();
    expect(backupStorage(platform)).toEqual({ bucket: offsite.bucket, region: offsite.region });
    const locations = synthVeleroConfig(backupStorage(platform)).filter((o) => o.kind === 'BackupStorageLocation');
    expect(locations.map((o) => o.metadata.name)).toEqual(['default']);
    expect(locations[0].spec).toEqual({
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: offsite.bucket },
      credential: { name: VELERO_CREDENTIALS.name, key: VELERO_CREDENTIALS.key },
      // AWS S3 by virtual host in the bucket's region: no endpoint, no path style.
      config: { region: offsite.region },
    });
    expect(backupStorage(platform).bucket).not.toBe(platform.ceph.rgw.bucket);
  });

  it('GIVEN no backups.offsite WHEN the storage location is rendered THEN it is the RGW bucket of the model, by path', () => {
    expect(single.backups.offsite).toBeUndefined();
    const [location] = synthVeleroConfig(backupStorage(single));
    expect(location.spec).toMatchObject({ objectStorage: { bucket: single.ceph.rgw.bucket }, credential: { name: VELERO_CREDENTIALS.name, key: VELERO_CREDENTIALS.key } });
    expect(location.spec.config).toEqual({ region: single.backups.region, s3ForcePathStyle: 'true', s3Url: single.ceph.rgw.endpoint });
    // The NetworkPolicies then open the RADOS Gateway's address and port, and not the internet.
    const targets = Velero.registration.connections!(single).filter((c) => /backup/.test(c.purpose ?? '')).map((c) => ({ to: (c.to as { network: { cidrs: unknown } }).network.cidrs, ports: c.ports }));
    expect(targets).toEqual([
      { to: [{ cidr: '10.10.0.31/32' }], ports: [{ port: 8443 }] },
      { to: [{ cidr: '10.10.0.31/32' }], ports: [{ port: 8443 }] },
    ]);
  });

  it('fails when backups.offsite names the Terraform state bucket', () => {
    const model = structuredClone(platform) as any;
    model.backups.offsite = { ...model.backups.offsite, bucket: model.gateway.stateBucket };
    expect(() => validatePlatform(model)).toThrow(
      `backups.offsite.bucket: "${platform.gateway.stateBucket}": is the Terraform state bucket (gateway.stateBucket): Velero would mark a bucket whose root holds other directories unavailable; name another bucket, e.g. "${platform.gateway.stateBucket}-velero"`,
    );
  });

  it('GIVEN the whole default render WHEN the schedule is derived THEN it backs up every namespace that holds state, daily at the model’s time, kept 30 days', () => {
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
        snapshotMoveData: true,
        csiSnapshotTimeout: '10m0s',
      },
    });
  });

  it('GIVEN a render summary WHEN the namespaces are derived THEN they are those with claims, volume claim templates or charts with claims', () => {
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
    expect(() => synthVeleroConfig(OFFSITE, platform, { services: [] })).toThrow(/^backups: no rendered service holds state/);
  });

  it('GIVEN the single-node model WHEN velero-config renders THEN it follows the model: schedule, retention, region and the RGW address', () => {
    expect(backupTtl(single)).toBe('336h0m0s');
    expect(backupTtl(platform)).toBe('720h0m0s');
    expect(rgwEndpoint(single)).toEqual({ url: 'https://10.10.0.31:8443', address: '10.10.0.31', port: 8443 });
    expect(rgwEndpoint({ ...platform, ceph: { ...platform.ceph, rgw: { ...platform.ceph.rgw, endpoint: 'http://10.0.0.5' } } })).toMatchObject({ port: 80 });
    const [location, schedule] = synthVeleroConfig(backupStorage(single), single, { services: [{ env: 'platform', service: service('vault', 'vault'), objects: [], chartHoldsState: true }] });
    expect(location.spec.config).toEqual({ region: 'eu-1', s3ForcePathStyle: 'true', s3Url: 'https://10.10.0.31:8443' });
    expect(location.spec.objectStorage).toEqual({ bucket: 'backups' });
    expect(schedule.spec).toMatchObject({ schedule: '30 1 * * *', template: { ttl: '336h0m0s', includedNamespaces: ['vault'] } });
  });

  it('GIVEN the off-site bucket WHEN the server, node agent and data mover pods\' traffic is evaluated THEN they reach only public addresses over HTTPS (S3 has no address range to name), the API server and DNS; only Prometheus reaches the server', () => {
    const evaluator = new NetworkPolicyEvaluator(objects());
    const server: Endpoint = { pod: { namespace: 'velero', labels: { 'app.kubernetes.io/name': 'velero' }, ip: '10.42.2.10' } };
    const mover: Endpoint = { pod: { namespace: 'velero', labels: { 'app.kubernetes.io/name': 'velero-data-mover', 'velero.io/data-upload': 'daily-x' }, ip: '10.42.2.13' } };
    for (const pod of [server, mover]) {
      expect(evaluator.allows({ from: pod, to: { ip: '52.219.170.1' }, port: 443 })).toBe(true);
      expect(evaluator.allows({ from: pod, to: { ip: '52.219.170.1' }, port: 80 })).toBe(false);
      // Not the RADOS Gateway (Velero's bucket is off site), nor any LAN host over HTTPS.
      expect(evaluator.allows({ from: pod, to: { ip: '192.168.10.21' }, port: 7480 })).toBe(false);
      expect(evaluator.allows({ from: pod, to: { ip: '192.168.10.21' }, port: 443 })).toBe(false);
      expect(evaluator.allows({ from: pod, to: { ip: '192.168.10.21' }, port: 6789 })).toBe(false);
      expect(evaluator.allows({ from: pod, to: { pod: { namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' }, ip: '10.42.2.14' } }, port: 8200 })).toBe(false);
    }
    // A pod Velero starts without the label its ConfigMap gives is isolated (the default deny).
    expect(evaluator.allows({ from: { pod: { namespace: 'velero', labels: { 'velero.io/data-upload': 'daily-x' }, ip: '10.42.2.15' } }, to: { ip: '52.219.170.1' }, port: 443 })).toBe(false);
    expect(evaluator.allows({ from: { pod: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.2.11' } }, to: server, port: 8085 })).toBe(true);
    expect(evaluator.allows({ from: { pod: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.2.11' } }, to: mover, port: 8085 })).toBe(false);
    expect(evaluator.allows({ from: { pod: { namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-server' }, ip: '10.42.2.12' } }, to: server, port: 8085 })).toBe(false);
  });

  it('GIVEN the whole default render WHEN its folders are listed THEN it renders its folders and Applications, after Vault, with the snapshot class it picks', () => {
    const wave = (name: string) => Number(application(name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect([wave('vault'), wave('velero'), wave('velero-config')]).toEqual([3, 4, 5]);
    expect(application('velero-config').spec.source.path).toBe('dist/k8s/platform/velero-config');
    // The ceph-rbd snapshot class is the one Velero picks for the driver's volumes.
    const snapshotClass = objects().find((o) => o.kind === 'VolumeSnapshotClass' && o.metadata.name === 'ceph-rbd');
    expect(snapshotClass.metadata.labels['velero.io/csi-volumesnapshot-class']).toBe('true');
    // Git holds no Secret of Velero's: the operator creates the credentials by hand.
    expect(objects().filter((o) => o.kind === 'Secret' && o.metadata.namespace === 'velero')).toEqual([]);
    const files = defaultRender();
    const picked = Object.fromEntries(
      [...files]
        .filter(([path]) => /^k8s\/platform\/(velero|velero-config)\//.test(path) || /^k8s\/platform\/apps\/application-velero/.test(path))
        .map(([path, text]) => [path, parse(text)])
        // Linkerd's authorization objects of the namespace: test/charts/lib/mesh-policy.test.ts.
        .filter(([, object]) => !String(object.apiVersion).startsWith(`${POLICY_GROUP}/`)),
    );
    expect(Object.keys(picked)).toEqual([
      'k8s/platform/apps/application-velero-config.yaml',
      'k8s/platform/apps/application-velero.yaml',
      'k8s/platform/velero-config/backupstoragelocation-default.yaml',
      'k8s/platform/velero-config/schedule-daily.yaml',
      'k8s/platform/velero/configmap-velero-node-agent.yaml',
      'k8s/platform/velero/namespace-velero.yaml',
      'k8s/platform/velero/networkpolicy-allow-velero-data-mover.yaml',
      'k8s/platform/velero/networkpolicy-allow-velero.yaml',
      'k8s/platform/velero/networkpolicy-default-deny.yaml',
    ]);
  });
});
