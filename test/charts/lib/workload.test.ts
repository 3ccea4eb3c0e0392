import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../../charts/lib/network';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  WorkloadCronJob,
  WorkloadDaemonSet,
  WorkloadDeployment,
  WorkloadJob,
  WorkloadPod,
  WorkloadStatefulSet,
  WorkloadVolume,
  containerResources,
  type WorkloadCronJobProps,
  type WorkloadDeploymentProps,
  type WorkloadPodProps,
  type WorkloadProps,
} from '../../../charts/lib/workload';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { validateCoreObject } from '../../support/schemas';

const WEB: Workload = { namespace: 'apps', name: 'web', ports: { http: 8080, metrics: 9090 } };
const BASE: WorkloadProps = {
  workload: WEB,
  component: 'server',
  image: 'registry.example.com/web:1.0.0',
  identity: { uid: 1000 },
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
};

function synth(build: (chart: ReturnType<typeof Testing.chart>) => void): any[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
}
/** Paths of the mappings whose keys are not in the sorted order the manifest writer must receive. */
function unsortedMappings(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unsortedMappings(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const keys = Object.keys(value);
  const own = keys.join() === [...keys].sort().join() ? [] : [path];
  return [...own, ...keys.flatMap((key) => unsortedMappings((value as Record<string, unknown>)[key], `${path}.${key}`))];
}
const ofKind = (objects: any[], kind: string) => objects.filter((o) => o.kind === kind);
const podOf = (objects: any[]) => objects.find((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind)).spec.template;

describe('workload family', () => {
  it('GIVEN ports by name WHEN a Deployment is rendered THEN its Service and containerPorts carry the names and the numbers of the network plan', () => {
    const objects = synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, service: { ports: ['http'] } }));
    const [service] = ofKind(objects, 'Service');
    expect(service.metadata).toMatchObject({ name: 'web', namespace: 'apps' });
    expect(service.spec).toEqual({ type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] });
    expect(podOf(objects).spec.containers[0].ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
  });

  it('GIVEN a StatefulSet WHEN rendered THEN its governing Service is headless and named in serviceName', () => {
    const objects = synth((c) => new WorkloadStatefulSet(c, 'web', BASE));
    expect(ofKind(objects, 'Service')[0].spec.clusterIP).toBe('None');
    expect(ofKind(objects, 'StatefulSet')[0].spec.serviceName).toBe('web');
  });

  it('fails when a probe names a port the workload does not have', () => {
    expect(() => synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, readinessProbe: { httpGet: { path: '/', port: 'htp' } } }))).toThrow(
      'workload apps/web: no port named "htp"; its ports are: http, metrics',
    );
  });

  it('fails when the Service exposes a port the container does not listen on', () => {
    expect(() => synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, ports: ['http'], service: { ports: ['metrics'] } }))).toThrow(
      'workload apps/web: the Service exposes port "metrics", which the container does not listen on',
    );
  });

  it('fails when a Deployment is given a data claim', () => {
    expect(() =>
      synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, volumes: [WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' })] })),
    ).toThrow('workload apps/web: volume "data" is a data claim, which only a StatefulSet has');
  });

  it('GIVEN a Job WHEN rendered THEN it has no Service, its pod is never restarted in place, and its run limits and hook annotations are on the Job', () => {
    const objects = synth(
      (c) =>
        new WorkloadJob(c, 'setup', {
          ...BASE,
          workload: { namespace: 'apps', name: 'setup', receivesNothing: true },
          annotations: { 'argocd.argoproj.io/hook': 'PostSync' },
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          ttlSecondsAfterFinished: 3600,
        }),
    );
    expect(objects.map((o) => o.kind).sort()).toEqual(['Job', 'ServiceAccount']);
    const [job] = ofKind(objects, 'Job');
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync' });
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600 });
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.serviceAccountName).toBe('setup');
    expect(job.spec.selector).toBeUndefined();
  });

  it('fails when a Job is given a data claim', () => {
    expect(() =>
      synth((c) => new WorkloadJob(c, 'web', { ...BASE, volumes: [WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' })] })),
    ).toThrow('workload apps/web: volume "data" is a data claim, which only a StatefulSet has; a Job');
  });

  it('GIVEN any workload WHEN rendered THEN the pod is Pod Security restricted: non-root identity, seccomp RuntimeDefault, no escalation, no capability, read-only root, no API token', () => {
    for (const Kind of [WorkloadDeployment, WorkloadStatefulSet, WorkloadDaemonSet, WorkloadJob]) {
      const objects = synth((c) => new Kind(c, 'web', { ...BASE, identity: { uid: 1000, fsGroup: 2000 } }));
      const pod = podOf(objects).spec;
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 2000,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(ofKind(objects, 'ServiceAccount')[0].automountServiceAccountToken).toBe(false);
    }
  });

  it('GIVEN a config file WHEN its content changes THEN the pod template checksum changes, and the ConfigMap is mounted read-only', () => {
    const checksum = (text: string) => {
      const objects = synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, volumes: [WorkloadVolume.configFiles('config', { 'web.yaml': text }, [{ mountPath: '/etc/web' }])] }));
      expect(ofKind(objects, 'ConfigMap')[0]).toMatchObject({ metadata: { name: 'web-config' }, data: { 'web.yaml': text } });
      expect(podOf(objects).spec.containers[0].volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/web', readOnly: true }]);
      return podOf(objects).metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    };
    expect(checksum('a: 1\n')).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum('a: 1\n')).toBe(checksum('a: 1\n'));
    expect(checksum('a: 2\n')).not.toBe(checksum('a: 1\n'));
  });

  it('GIVEN volumes in an order WHEN rendered THEN mounts keep that order, claims become volumeClaimTemplates (kept on delete) and not pod volumes', () => {
    const objects = synth(
      (c) =>
        new WorkloadStatefulSet(c, 'web', {
          ...BASE,
          volumes: [
            WorkloadVolume.configFiles('config', { 'a.yaml': 'a: 1\n' }, [{ mountPath: '/etc/web/a.yaml', subPath: 'a.yaml' }]),
            WorkloadVolume.dataClaim('data', '/data', { storage: '5Gi', storageClassName: 'ceph-rbd' }),
            WorkloadVolume.emptyDir('tmp', '/tmp', '64Mi'),
          ],
        }),
    );
    const [sts] = ofKind(objects, 'StatefulSet');
    expect(sts.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.name)).toEqual(['config', 'data', 'tmp']);
    expect(sts.spec.template.spec.volumes).toEqual([
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
    expect(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage])).toEqual([['data', '5Gi']]);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('GIVEN a node WHEN rendered THEN the pods select the node label; without one they run anywhere', () => {
    expect(podOf(synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, node: 'worker-1' }))).spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'worker-1' });
    expect(podOf(synth((c) => new WorkloadDeployment(c, 'web', BASE))).spec.nodeSelector).toBeUndefined();
  });

  it('GIVEN a Vault agent WHEN rendered THEN its labels, annotations and token volume join the pod, after the config checksum', () => {
    const agent = { labels: { 'vault-agent': 'true' }, annotations: { 'vault.hashicorp.com/role': 'web' }, volumes: [{ name: 'vault-token', emptyDir: {} }] };
    const pod = podOf(synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, vaultAgent: agent, volumes: [WorkloadVolume.emptyDir('tmp', '/tmp', '1Mi')] })));
    expect(pod.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'web', 'vault-agent': 'true' });
    expect(pod.metadata.annotations).toEqual({ 'vault.hashicorp.com/role': 'web' });
    expect(pod.spec.volumes.map((v: any) => v.name)).toEqual(['tmp', 'vault-token']);
  });

  it('GIVEN a rollout policy, a pull policy and spreading WHEN a Deployment is rendered THEN it surges and keeps pods as asked, pulls every start and spreads its pods over nodes; without them it leaves Kubernetes its defaults', () => {
    const objects = synth((chart) =>
      new WorkloadDeployment(chart, 'web', {
        ...BASE,
        replicas: 3,
        imagePullPolicy: 'Always',
        spreadOverNodes: true,
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: 300,
      }),
    );
    const deployment = ofKind(objects, 'Deployment')[0];
    expect(deployment.spec).toMatchObject({ replicas: 3, revisionHistoryLimit: 5, progressDeadlineSeconds: 300, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    expect(deployment.spec.template.spec.containers[0].imagePullPolicy).toBe('Always');
    expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } } },
    ]);
    expect(validateCoreObject(deployment)).toBeUndefined();

    const plain = ofKind(synth((chart) => new WorkloadDeployment(chart, 'web', BASE)), 'Deployment')[0];
    for (const key of ['strategy', 'revisionHistoryLimit', 'progressDeadlineSeconds']) expect(plain.spec).not.toHaveProperty(key);
    expect(plain.spec.template.spec).not.toHaveProperty('topologySpreadConstraints');
    expect(plain.spec.template.spec.containers[0]).not.toHaveProperty('imagePullPolicy');
  });

  it('GIVEN every kind with every volume type WHEN rendered THEN each object is valid against the pinned Kubernetes schemas, keys in ApiObject order', () => {
    const objects = synth((c) => {
      new WorkloadDeployment(c, 'web', { ...BASE, command: ['/bin/web'], args: ['--port=8080'], env: [{ name: 'A', value: 'b' }], readinessProbe: { tcpPort: 'http', periodSeconds: 5 }, volumes: [WorkloadVolume.configFiles('config', { a: 'b' }, [{ mountPath: '/etc/web' }])] });
      new WorkloadStatefulSet(c, 'db', { ...BASE, workload: { ...WEB, name: 'db' }, volumes: [WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' })] });
      new WorkloadDaemonSet(c, 'agent', {
        ...BASE,
        workload: { ...WEB, name: 'agent' },
        service: false,
        volumes: [WorkloadVolume.hostPath('logs', '/var/log/pods', { type: 'Directory' })],
        tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
      });
      new WorkloadJob(c, 'setup', {
        ...BASE,
        workload: { namespace: 'apps', name: 'setup', receivesNothing: true },
        annotations: { 'argocd.argoproj.io/hook': 'PostSync' },
        volumes: [WorkloadVolume.configFiles('config', { 'run.py': 'print(1)' }, [{ mountPath: '/etc/setup' }])],
        backoffLimit: 3,
        activeDeadlineSeconds: 600,
        ttlSecondsAfterFinished: 3600,
      });
    });
    for (const object of objects) {
      expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
      expect(Object.keys(object).slice(0, 3)).toEqual(['apiVersion', 'kind', 'metadata']);
      expect(unsortedMappings(object.metadata, 'metadata'), `${object.kind} ${object.metadata.name}`).toEqual([]);
      expect(unsortedMappings(object.spec ?? {}, 'spec'), `${object.kind} ${object.metadata.name}`).toEqual([]);
    }
    expect(ofKind(objects, 'Service').map((s) => s.metadata.name)).toEqual(['web', 'db']);
    expect(podOf(ofKind(objects, 'DaemonSet')).spec.containers[0].volumeMounts).toEqual([{ name: 'logs', mountPath: '/var/log/pods', readOnly: true }]);
  });

  it('GIVEN a schedule WHEN a CronJob is rendered THEN its runs start on it once at a time, its pods never restart in place, and it has no Service', () => {
    const JOB: Workload = { namespace: 'jobs', name: 'report', receivesNothing: true };
    const objects = synth((c) =>
      new WorkloadCronJob(c, 'report', {
        ...BASE,
        workload: JOB,
        service: false,
        schedule: '30 * * * *',
        timeZone: 'Etc/UTC',
        backoffLimit: 0,
        activeDeadlineSeconds: 600,
        volumes: [WorkloadVolume.configFiles('config', { 'config.json': '{}' }, [{ mountPath: '/etc/report' }])],
      }),
    );
    const [cronJob] = ofKind(objects, 'CronJob');
    expect(cronJob.metadata).toMatchObject({ name: 'report', namespace: 'jobs' });
    expect(cronJob.spec).toMatchObject({ schedule: '30 * * * *', timeZone: 'Etc/UTC', suspend: false, concurrencyPolicy: 'Forbid' });
    expect(cronJob.spec.jobTemplate.metadata.labels['app.kubernetes.io/name']).toBe('report');
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    const pod = cronJob.spec.jobTemplate.spec.template;
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.serviceAccountName).toBe('report');
    expect(pod.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(ofKind(objects, 'Service')).toEqual([]);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('fails when a CronJob is given a data claim, which only a StatefulSet has', () => {
    expect(() =>
      synth((c) => new WorkloadCronJob(c, 'report', { ...BASE, service: false, schedule: '0 * * * *', volumes: [WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' })] })),
    ).toThrow(/volume "data" is a data claim, which only a StatefulSet has; a CronJob uses an emptyDir/);
  });

  it('GIVEN host aliases and the image primary group WHEN a pod is rendered THEN /etc/hosts names the address and the pod sets no runAsGroup, still restricted', () => {
    const objects = synth((c) =>
      new WorkloadDeployment(c, 'web', { ...BASE, identity: { uid: 12021 }, imagePrimaryGroup: true, hostAliases: [{ ip: '192.0.2.10', hostnames: ['git.example.com'] }] }),
    );
    const pod = podOf(objects).spec;
    expect(pod.hostAliases).toEqual([{ ip: '192.0.2.10', hostnames: ['git.example.com'] }]);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 12021, seccompProfile: { type: 'RuntimeDefault' } });
    // Without the option the group is the identity's, as everywhere else.
    const plain = podOf(synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, identity: { uid: 12021 } }))).spec;
    expect(plain.securityContext.runAsGroup).toBe(12021);
    expect(plain.hostAliases).toBeUndefined();
  });
});

describe('containerResources', () => {
  it('GIVEN requests and limits WHEN a Job pod written with the typed L1 classes uses them THEN the container carries exactly those quantities', () => {
    const chart = Testing.chart();
    new k8s.KubeJob(chart, 'job', {
      metadata: { name: 'job' },
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'c', image: 'busybox:1', resources: containerResources({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }) }],
          },
        },
      },
    });
    const [job] = Testing.synth(chart);
    expect(job.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  });
});

describe('workload family: pods of several containers (the data services, decision 0111)', () => {
  const DB: Workload = { namespace: 'data', name: 'db', ports: { sql: 5432, metrics: 9187 } };
  const RES = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } };
  const AGENT = { labels: { 'vault-agent': 'true' }, annotations: { 'vault.hashicorp.com/role': 'db' }, volumes: [{ name: 'vault-token', emptyDir: {} }] };
  const DB_PROPS: WorkloadProps = {
    ...BASE,
    workload: DB,
    component: 'database',
    ports: ['sql'],
    volumes: [
      WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' }),
      WorkloadVolume.configFiles('init', { 'init.sh': 'true\n' }, [{ mountPath: '/etc/init' }]),
      WorkloadVolume.memoryDir('socket', '/run/db', '1Mi'),
    ],
    mounts: ['data', 'socket'],
    readinessProbe: { exec: ['pg_isready', '--host', '/run/db'], periodSeconds: 10, timeoutSeconds: 5 },
    initContainers: [{ name: 'init', image: 'db:1', command: ['/bin/sh', '/etc/init/init.sh'], resources: RES, mounts: ['data', 'init', 'socket'] }],
    sidecars: [
      {
        name: 'exporter',
        image: 'exporter:1',
        args: ['--socket=/run/db'],
        ports: ['metrics'],
        readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, timeoutSeconds: 10 },
        resources: RES,
        mounts: ['socket'],
      },
    ],
    service: { ports: ['sql', 'metrics'] },
  };
  const pod = (props: Partial<WorkloadProps> = {}) => podOf(synth((c) => new WorkloadStatefulSet(c, 'db', { ...DB_PROPS, ...props })));

  it('GIVEN an init container and a sidecar WHEN rendered THEN the init container runs first, the sidecar after the main container, each mounting only the volumes it names, restricted, and the Service reaches the sidecar port', () => {
    const objects = synth((c) => new WorkloadStatefulSet(c, 'db', DB_PROPS));
    const spec = podOf(objects).spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['init']);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['db', 'exporter']);
    expect(spec.initContainers[0].volumeMounts).toEqual([
      { name: 'data', mountPath: '/data' },
      { name: 'init', mountPath: '/etc/init', readOnly: true },
      { name: 'socket', mountPath: '/run/db' },
    ]);
    expect(spec.containers[0].volumeMounts.map((m: any) => m.name)).toEqual(['data', 'socket']);
    expect(spec.containers[1].volumeMounts).toEqual([{ name: 'socket', mountPath: '/run/db' }]);
    expect(spec.containers[1].ports).toEqual([{ name: 'metrics', containerPort: 9187, protocol: 'TCP' }]);
    expect(spec.containers[0].ports).toEqual([{ name: 'sql', containerPort: 5432, protocol: 'TCP' }]);
    for (const container of [...spec.initContainers, ...spec.containers]) {
      expect(container.securityContext, container.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(container.resources, container.name).toBeDefined();
    }
    expect(ofKind(objects, 'Service')[0].spec.ports.map((p: any) => [p.name, p.port])).toEqual([['sql', 5432], ['metrics', 9187]]);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN an exec probe with a timeout WHEN rendered THEN the probe runs the command and waits that long; an HTTP probe keeps its own timeout', () => {
    const spec = pod().spec;
    expect(spec.containers[0].readinessProbe).toEqual({ exec: { command: ['pg_isready', '--host', '/run/db'] }, periodSeconds: 10, timeoutSeconds: 5 });
    expect(spec.containers[1].readinessProbe).toEqual({ httpGet: { path: '/metrics', port: 'metrics' }, timeoutSeconds: 10 });
  });

  it('fails when a probe sets both exec and a port check, or none', () => {
    expect(() => pod({ readinessProbe: { exec: ['true'], tcpPort: 'sql' } })).toThrow('workload data/db: readinessProbe must set exactly one of httpGet, tcpPort and exec; it sets 2');
    expect(() => pod({ livenessProbe: { periodSeconds: 5 } })).toThrow('workload data/db: livenessProbe must set exactly one of httpGet, tcpPort and exec; it sets 0');
  });

  it('GIVEN a memory-backed scratch volume WHEN rendered THEN it is an emptyDir in memory with its size limit', () => {
    expect(pod().spec.volumes.find((v: any) => v.name === 'socket')).toEqual({ name: 'socket', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
  });

  it('fails when a container mounts a volume the workload does not declare', () => {
    expect(() => pod({ mounts: ['data', 'sock'] })).toThrow('workload data/db: container "db" mounts volume "sock", which is not declared; its volumes are: data, init, socket');
    expect(() => pod({ sidecars: [{ ...DB_PROPS.sidecars![0], mounts: ['tmp'] }] })).toThrow('container "exporter" mounts volume "tmp", which is not declared');
  });

  it('fails when two containers of the pod share a name', () => {
    expect(() => pod({ sidecars: [{ ...DB_PROPS.sidecars![0], name: 'init' }] })).toThrow('workload data/db: container name "init" is used twice');
  });

  it('fails when the Service exposes a port neither the container nor a sidecar listens on', () => {
    expect(() => pod({ sidecars: [] })).toThrow('workload data/db: the Service exposes port "metrics", which the container does not listen on');
  });

  it('GIVEN labelObjectsLikeWorkload WHEN rendered THEN the ServiceAccount, ConfigMap, Service and claim template carry the workload labels; by default each carries its kind', () => {
    const labelsOf = (objects: any[]) => {
      const sts = ofKind(objects, 'StatefulSet')[0];
      return [
        ...['ServiceAccount', 'ConfigMap', 'Service'].map((kind) => ofKind(objects, kind)[0].metadata.labels),
        sts.spec.volumeClaimTemplates[0].metadata.labels,
      ];
    };
    const workloadLabels = ofKind(synth((c) => new WorkloadStatefulSet(c, 'db', DB_PROPS)), 'StatefulSet')[0].metadata.labels;
    expect(workloadLabels).toMatchObject({ 'app.kubernetes.io/name': 'db', 'app.kubernetes.io/component': 'database' });
    for (const labels of labelsOf(synth((c) => new WorkloadStatefulSet(c, 'db', { ...DB_PROPS, labelObjectsLikeWorkload: true })))) expect(labels).toEqual(workloadLabels);
    const components = labelsOf(synth((c) => new WorkloadStatefulSet(c, 'db', DB_PROPS))).map((l: any) => l['app.kubernetes.io/component']);
    expect(components).toEqual(['service-account', 'config', 'service', 'storage']);
  });

  it('GIVEN rollOnConfigChange false WHEN rendered THEN the pod template has no config checksum; by default it has', () => {
    expect(pod().metadata.annotations).toHaveProperty([CONFIG_CHECKSUM_ANNOTATION]);
    expect(pod({ rollOnConfigChange: false }).metadata.annotations).toBeUndefined();
    expect(pod({ rollOnConfigChange: false, vaultAgent: AGENT }).metadata.annotations).toEqual(AGENT.annotations);
  });

  it('GIVEN vaultVolumesFirst WHEN rendered THEN the agent volumes come before the workload volumes; by default after', () => {
    expect(pod({ vaultAgent: AGENT, vaultVolumesFirst: true }).spec.volumes.map((v: any) => v.name)).toEqual(['vault-token', 'init', 'socket']);
    expect(pod({ vaultAgent: AGENT }).spec.volumes.map((v: any) => v.name)).toEqual(['init', 'socket', 'vault-token']);
  });

  it('GIVEN a pod management policy and update strategy WHEN a StatefulSet is rendered THEN they are written out; without them Kubernetes keeps its defaults', () => {
    const given = ofKind(synth((c) => new WorkloadStatefulSet(c, 'db', { ...DB_PROPS, podManagementPolicy: 'OrderedReady', updateStrategy: 'OnDelete' })), 'StatefulSet')[0];
    expect(given.spec).toMatchObject({ podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'OnDelete' } });
    expect(validateCoreObject(given)).toBeUndefined();
    const plain = ofKind(synth((c) => new WorkloadStatefulSet(c, 'db', DB_PROPS)), 'StatefulSet')[0];
    expect(plain.spec).not.toHaveProperty('podManagementPolicy');
    expect(plain.spec).not.toHaveProperty('updateStrategy');
  });
});

describe('workload family: a StatefulSet that went live before the family (init containers, its own Services, its own ConfigMap)', () => {
  const DB: Workload = { namespace: 'apps', name: 'db', ports: { http: 8080 } };
  const volumes = () => [
    WorkloadVolume.dataClaim('home', '/var/home', { storage: '1Gi', storageClassName: 'ceph-rbd' }),
    WorkloadVolume.emptyDir('plugins', '/var/home/plugins', '1Gi'),
    WorkloadVolume.configMap('config', 'db-settings', [{ mountPath: '/etc/db' }]),
  ];
  const installer = { name: 'install', command: ['install'], resources: BASE.resources, mounts: [{ volume: 'plugins', mountPath: '/out' }, { volume: 'config', mountPath: '/in' }] };

  it('GIVEN an init container WHEN rendered THEN it runs before the container with the workload image, restricted, mounting the named volumes at its own paths (read-only where the volume is)', () => {
    const objects = synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB, volumes: volumes(), initContainers: [installer] }));
    const pod = podOf(objects).spec;
    expect(pod.initContainers).toHaveLength(1);
    const [init] = pod.initContainers;
    expect(init).toMatchObject({ name: 'install', image: BASE.image, command: ['install'] });
    expect(init.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(init.resources).toEqual(pod.containers[0].resources);
    expect(init.volumeMounts).toEqual([
      { name: 'plugins', mountPath: '/out' },
      { name: 'config', mountPath: '/in', readOnly: true },
    ]);
    expect(pod.containers[0].volumeMounts.map((m: any) => m.mountPath)).toEqual(['/var/home', '/var/home/plugins', '/etc/db']);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN no init container WHEN rendered THEN the pod has none', () => {
    expect(podOf(synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB }))).spec.initContainers).toBeUndefined();
  });

  it('fails when an init container mounts a volume the workload does not declare', () => {
    const bad = { ...installer, mounts: [{ volume: 'cache', mountPath: '/cache' }] };
    expect(() => synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB, volumes: volumes(), initContainers: [bad] }))).toThrow(
      /workload apps\/db: container "install" mounts volume "cache", which the workload does not declare; its volumes are: home, plugins, config/,
    );
  });

  it('fails when an init container has the name of the workload container', () => {
    expect(() => synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB, initContainers: [{ ...installer, name: 'db', mounts: [] }] }))).toThrow(
      /workload apps\/db: container name "db" is used twice; give each container of the pod its own name/,
    );
  });

  it('GIVEN a governing Service of another name WHEN a StatefulSet is rendered THEN serviceName names it and no Service is rendered with service: false', () => {
    const objects = synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB, service: false, serviceName: 'db-headless' }));
    expect(ofKind(objects, 'StatefulSet')[0].spec.serviceName).toBe('db-headless');
    expect(ofKind(objects, 'Service')).toEqual([]);
  });

  it('GIVEN an unlabelled data claim WHEN rendered THEN its claim template has no labels; by default it is labelled', () => {
    const claimMetadata = (labelled?: boolean) =>
      ofKind(
        synth((c) => new WorkloadStatefulSet(c, 'db', { ...BASE, workload: DB, volumes: [WorkloadVolume.dataClaim('home', '/h', { storage: '1Gi', storageClassName: 'ceph-rbd', labelled })] })),
        'StatefulSet',
      )[0].spec.volumeClaimTemplates[0].metadata;
    expect(claimMetadata(false)).toEqual({ name: 'home' });
    expect(claimMetadata().labels).toMatchObject({ 'app.kubernetes.io/name': 'db', 'app.kubernetes.io/component': 'storage' });
  });

  it('GIVEN a ConfigMap the service renders itself and pod annotations WHEN rendered THEN the pod mounts that ConfigMap read-only, the family renders none, and the pods carry the annotations beside the Vault agent\'s, with no config checksum', () => {
    const objects = synth(
      (c) =>
        new WorkloadStatefulSet(c, 'db', {
          ...BASE,
          workload: DB,
          volumes: volumes(),
          vaultAgent: { labels: {}, annotations: { 'vault.hashicorp.com/agent-inject': 'true' }, volumes: [] },
          podAnnotations: { 'example.com/config-hash': 'abc' },
        }),
    );
    expect(ofKind(objects, 'ConfigMap')).toEqual([]);
    const template = podOf(objects);
    expect(template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'db-settings' } });
    expect(template.spec.containers[0].volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/db', readOnly: true });
    expect(template.metadata.annotations).toEqual({ 'vault.hashicorp.com/agent-inject': 'true', 'example.com/config-hash': 'abc' });
  });

  it('GIVEN a probe timeout WHEN rendered THEN the probe carries it; without one Kubernetes keeps its default', () => {
    const pod = podOf(synth((c) => new WorkloadDeployment(c, 'web', { ...BASE, readinessProbe: { tcpPort: 'http', timeoutSeconds: 5 }, livenessProbe: { tcpPort: 'http' } })));
    expect(pod.spec.containers[0].readinessProbe.timeoutSeconds).toBe(5);
    expect(pod.spec.containers[0].livenessProbe.timeoutSeconds).toBeUndefined();
  });
});

describe('workload family: a pod whose containers run as different users (a producer and an uploader)', () => {
  const JOB: Workload = { namespace: 'apps', name: 'dump', receivesNothing: true };
  const cron = (overrides: Partial<WorkloadCronJobProps> = {}) =>
    synth(
      (c) =>
        new WorkloadCronJob(c, 'dump', {
          ...BASE,
          workload: JOB,
          service: false,
          schedule: '0 1 * * *',
          identity: { uid: 65532 },
          identityPerContainer: true,
          volumes: [WorkloadVolume.emptyDir('out', '/out', '1Gi')],
          vaultAgent: { labels: {}, annotations: {}, volumes: [{ name: 'vault-token', projected: { sources: [] } }] },
          initContainers: [
            {
              name: 'produce',
              image: 'registry.example.com/db:1',
              identity: { uid: 999 },
              resources: BASE.resources,
              mounts: [
                { volume: 'out', mountPath: '/out' },
                { volume: 'vault-token', mountPath: '/var/run/secrets/vault' },
              ],
            },
          ],
          ...overrides,
        }),
    );
  const podSpec = (objects: any[]) => ofKind(objects, 'CronJob')[0].spec.jobTemplate.spec.template.spec;

  it('GIVEN identityPerContainer WHEN rendered THEN the pod pins only non-root and seccomp, and each container runs as its own user, states non-root itself, restricted', () => {
    const spec = podSpec(cron());
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
    expect(spec.containers[0].securityContext).toEqual({ ...restricted, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
    expect(spec.initContainers[0].securityContext).toEqual({ ...restricted, runAsNonRoot: true, runAsUser: 999, runAsGroup: 999 });
  });

  it('GIVEN an init container WHEN it mounts a Vault agent volume THEN the mount is read-only', () => {
    expect(podSpec(cron()).initContainers[0].volumeMounts).toEqual([
      { name: 'out', mountPath: '/out' },
      { name: 'vault-token', mountPath: '/var/run/secrets/vault', readOnly: true },
    ]);
  });

  it('GIVEN no identityPerContainer WHEN rendered THEN the pod runs as identity and the workload container sets no user of its own', () => {
    const spec = podSpec(cron({ identityPerContainer: undefined }));
    expect(spec.securityContext).toMatchObject({ runAsUser: 65532, runAsGroup: 65532 });
    expect(spec.containers[0].securityContext.runAsUser).toBeUndefined();
  });

  it('fails when identityPerContainer is given a pod-level fsGroup', () => {
    expect(() => cron({ identity: { uid: 65532, fsGroup: 65532 } })).toThrow(/workload apps\/dump: identity sets fsGroup or supplementalGroups, which are the pod's, but identityPerContainer/);
  });
});

describe('workload family: one pod shared by a Job and the CronJob that repeats it (WorkloadPod)', () => {
  const RUN: Workload = { namespace: 'jobs', name: 'apply', receivesNothing: true };
  const POD: WorkloadPodProps = {
    ...BASE,
    workload: RUN,
    component: 'config-job',
    containerName: 'run',
    volumes: [
      WorkloadVolume.configFiles('scripts', { 'apply.sh': 'echo applied' }, [{ mountPath: '/scripts' }]),
      WorkloadVolume.serviceAccountToken('token', '/var/run/secrets/vault', { audience: 'vault', expirationSeconds: 600 }),
    ],
  };
  const shared = () =>
    synth((c) => {
      const pod = new WorkloadPod(c, 'pod', POD);
      new WorkloadJob(c, 'job', { pod, annotations: { 'argocd.argoproj.io/hook': 'PostSync' }, backoffLimit: 2 });
      new WorkloadCronJob(c, 'cronjob', { pod, name: 'apply-hourly', schedule: '23 * * * *', backoffLimit: 1 });
    });

  it('GIVEN one WorkloadPod WHEN a Job and a CronJob run it THEN one ServiceAccount and one ConfigMap serve both, and both run the same pod template under that account', () => {
    const objects = shared();
    expect(objects.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual(['ConfigMap apply-scripts', 'CronJob apply-hourly', 'Job apply', 'ServiceAccount apply']);
    const [job] = ofKind(objects, 'Job');
    const [cronJob] = ofKind(objects, 'CronJob');
    expect(cronJob.spec.jobTemplate.spec.template).toEqual(job.spec.template);
    const pod = job.spec.template;
    expect(pod.spec.serviceAccountName).toBe('apply');
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.metadata.labels['app.kubernetes.io/name']).toBe('apply');
    expect(pod.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN a name and annotations on each WHEN rendered THEN each workload object carries its own name, labels and run limits, and its pods the pod\'s', () => {
    const objects = shared();
    const [job] = ofKind(objects, 'Job');
    const [cronJob] = ofKind(objects, 'CronJob');
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync' });
    expect(job.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'apply', 'app.kubernetes.io/component': 'config-job' });
    expect(job.spec.backoffLimit).toBe(2);
    expect(cronJob.metadata.annotations).toBeUndefined();
    expect(cronJob.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'apply-hourly', 'app.kubernetes.io/component': 'config-job' });
    expect(cronJob.spec.jobTemplate.metadata.labels['app.kubernetes.io/name']).toBe('apply-hourly');
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(1);
    expect(cronJob.spec.jobTemplate.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('apply');
  });

  it('GIVEN a service account token volume WHEN rendered THEN the pod projects a token for that audience and lifetime, mounted read-only, and the API token stays unmounted', () => {
    const pod = ofKind(shared(), 'Job')[0].spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 'token' } }] } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'token', mountPath: '/var/run/secrets/vault', readOnly: true });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('fails when a shared pod holds a data claim, which only a StatefulSet has', () => {
    expect(() =>
      synth((c) => {
        const pod = new WorkloadPod(c, 'pod', { ...POD, volumes: [WorkloadVolume.dataClaim('data', '/data', { storage: '1Gi', storageClassName: 'ceph-rbd' })] });
        new WorkloadJob(c, 'job', { pod });
      }),
    ).toThrow('workload jobs/apply: volume "data" is a data claim, which only a StatefulSet has; a Job uses an emptyDir or a StatefulSet');
  });
});

describe('workload family: a Deployment in the shape of an upstream manifest (system-upgrade-controller, decision 0116)', () => {
  const CONTROLLER: Workload = { namespace: 'ops', name: 'ctl', receivesNothing: true };
  const UPSTREAM = (extra: Partial<WorkloadDeploymentProps> = {}) =>
    synth((c) => {
      const account = new k8s.KubeServiceAccount(c, 'account', { metadata: { name: 'shared', namespace: 'ops' } });
      new WorkloadDeployment(c, 'ctl', {
        ...BASE,
        workload: CONTROLLER,
        service: false,
        selectorLabel: 'example.com/controller',
        serviceAccount: account,
        automountToken: true,
        strategy: 'Recreate',
        nodeSelector: { 'node-role.kubernetes.io/control-plane': 'true' },
        envFrom: [{ configMapRef: { name: 'ctl-env' } }],
        ...extra,
      });
    });

  it('GIVEN a selector label WHEN rendered THEN the Deployment selects on it alone, and the pods carry it beside the name label the NetworkPolicies select on', () => {
    const [deployment] = ofKind(UPSTREAM(), 'Deployment');
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'example.com/controller': 'ctl' } });
    expect(deployment.spec.template.metadata.labels).toMatchObject({ 'example.com/controller': 'ctl', 'app.kubernetes.io/name': 'ctl' });
    expect(deployment.metadata.labels['example.com/controller']).toBe('ctl');
  });

  it('GIVEN a ServiceAccount of the service WHEN rendered THEN the pods run as it and the family renders none of its own', () => {
    const objects = UPSTREAM();
    expect(ofKind(objects, 'ServiceAccount').map((a) => a.metadata.name)).toEqual(['shared']);
    const pod = podOf(objects).spec;
    expect(pod.serviceAccountName).toBe('shared');
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  it('GIVEN Recreate, a node selector and envFrom WHEN rendered THEN one pod runs at a time, on the selected nodes, with the ConfigMap as environment; the object is valid', () => {
    const objects = UPSTREAM();
    const [deployment] = ofKind(objects, 'Deployment');
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': 'true' });
    expect(deployment.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: 'ctl-env' } }]);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('fails when Recreate is given rolling update limits', () => {
    expect(() => UPSTREAM({ rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })).toThrow('workload ops/ctl: strategy Recreate stops every pod before starting new ones; rollingUpdate limits a rolling update; drop one');
  });

  it('fails when both node and nodeSelector place the pods', () => {
    expect(() => UPSTREAM({ node: 'node-a' })).toThrow('workload ops/ctl: node and nodeSelector both place the pods; set one');
  });
});
