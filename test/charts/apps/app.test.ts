import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { AppNamespace, APP_UID, ROLLOUT_READER, TenantApp, type AppNamespaceProps, type AppProps } from '../../../charts/apps/app';
import { APP_CONTAINER, APP_SERVICE_PORT, BUILDS_NAMESPACE, DEPLOY_AGENT } from '../../../charts/lib/delivery';
import { connect, dnsAccess, exposedThroughIngress, type NetworkPlan } from '../../../charts/lib/network';
import { vaultAgentPodFor } from '../../../charts/lib/vault';
import { validateCoreObject } from '../../support/schemas';

const RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } };
const PROPS: AppProps = {
  app: 'shop',
  env: 'qa',
  image: 'registry.example.test/apps/shop:abc123',
  port: 3000,
  health: { readinessPath: '/ready', livenessPath: '/alive' },
  replicas: 1,
  resources: RESOURCES,
  host: 'shop-qa.example.test',
  issuer: 'letsencrypt-staging',
};

function synth(props: Partial<AppProps> = {}): any[] {
  const chart = Testing.chart();
  new TenantApp(chart, 'shop', { ...PROPS, ...props });
  return Testing.synth(chart);
}

const find = (objects: any[], kind: string) => objects.find((o) => o.kind === kind);
const kinds = (objects: any[]) => objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort();

describe("a user's app in one environment", () => {
  it('GIVEN one replica WHEN rendered THEN the namespace <app>-<env> holds its ServiceAccount, Deployment, Service and Ingress, and no disruption budget', () => {
    expect(kinds(synth())).toEqual(['Deployment/shop-qa/shop', 'Ingress/shop-qa/shop', 'Service/shop-qa/shop', 'ServiceAccount/shop-qa/shop']);
  });

  it('GIVEN the image, port, health paths and resources WHEN rendered THEN the container runs exactly them, pulled every start, and knows its environment', () => {
    const deployment = find(synth(), 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    const [container] = deployment.spec.template.spec.containers;
    expect(container.name).toBe(APP_CONTAINER);
    expect(container.image).toBe(PROPS.image);
    expect(container.imagePullPolicy).toBe('Always');
    expect(container.resources).toEqual(RESOURCES);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/alive', port: 'http' });
    expect(container.env).toEqual([{ name: 'APP_ENV', value: 'qa' }, { name: 'PORT', value: '3000' }]);
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  it('GIVEN any app WHEN rendered THEN it runs restricted as its own non-root user, with no API token, rolling one new pod at a time', () => {
    const objects = synth();
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: APP_UID, runAsGroup: APP_UID, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // A stuck rollout fails the pipeline's wait.
    expect(deployment.spec.progressDeadlineSeconds).toBe(600);
  });

  it('GIVEN three replicas WHEN rendered THEN they spread over nodes and a disruption budget keeps one running; GIVEN one THEN neither', () => {
    const replicated = synth({ replicas: 3 });
    expect(find(replicated, 'PodDisruptionBudget').spec).toEqual({
      minAvailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'shop' } },
    });
    expect(find(replicated, 'Deployment').spec.template.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'shop' } } },
    ]);
    expect(find(synth(), 'Deployment').spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });

  it('GIVEN a host and an issuer WHEN rendered THEN the Ingress serves the host with TLS from that issuer, through the Service on port 80', () => {
    const objects = synth();
    const ingress = find(objects, 'Ingress');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-staging' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['shop-qa.example.test'], secretName: 'shop-tls' }]);
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'shop', port: { number: APP_SERVICE_PORT } });
    expect(find(objects, 'Service').spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'shop' },
      ports: [{ name: 'http', port: APP_SERVICE_PORT, targetPort: 'http' }],
    });
  });

  it("GIVEN the Vault agent's pieces WHEN rendered THEN the pod carries them besides its scratch volume; GIVEN none THEN it has no annotation and only the scratch volume", () => {
    const consumer = { name: 'shop-qa', namespace: 'shop-qa', serviceAccount: 'shop', workload: { namespace: 'shop-qa', name: 'shop' }, secrets: [{ name: 'config', keys: ['KEY'] }] };
    const agent = vaultAgentPodFor(consumer, 'vault.example.test');
    const pod = find(synth({ vaultAgent: agent }), 'Deployment').spec.template;
    expect(pod.metadata.annotations).toEqual(agent.annotations);
    expect(pod.metadata.labels).toMatchObject(agent.labels);
    expect(pod.spec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }, ...agent.volumes]);
    expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);

    const plain = find(synth(), 'Deployment').spec.template;
    expect(plain.metadata.annotations).toBeUndefined();
    expect(plain.spec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }]);
  });

  it('GIVEN any app WHEN rendered THEN every object is a valid Kubernetes object', () => {
    for (const object of synth({ replicas: 2 })) expect(validateCoreObject(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
  });
});

describe("the platform's part of an app in one environment", () => {
  const workload = { namespace: 'shop-qa', name: 'shop', ports: { http: 3000 } };
  const PLAN: NetworkPlan = {
    connections: [exposedThroughIngress(workload, 'http'), connect({ workload: DEPLOY_AGENT }, workload, ['http'], 'smoke tests'), dnsAccess(workload)],
  };
  const NS_PROPS: AppNamespaceProps = { app: 'shop', env: 'qa', port: 3000, plan: PLAN };
  function synthNamespace(): any[] {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', NS_PROPS);
    return Testing.synth(chart);
  }

  it('GIVEN the app and its connections WHEN rendered THEN its namespace is restricted, denies by default and allows the declared connections on the port', () => {
    const objects = synthNamespace();
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe('shop-qa');
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['allow-shop', 'default-deny']);
    const allow = policies.find((p) => p.metadata.name === 'allow-shop');
    expect(JSON.stringify(allow.spec.ingress)).toContain('3000');
  });

  it("GIVEN the pipeline's deploy pods WHEN rendered THEN they may only get this app's Deployment, to wait for its rollout", () => {
    const objects = synthNamespace();
    const role = objects.find((o) => o.kind === 'Role');
    expect(role.metadata).toMatchObject({ name: ROLLOUT_READER, namespace: 'shop-qa' });
    expect(role.rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['shop'], verbs: ['get'] }]);
    expect(objects.find((o) => o.kind === 'RoleBinding')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROLLOUT_READER },
      subjects: [{ kind: 'ServiceAccount', name: DEPLOY_AGENT.name, namespace: BUILDS_NAMESPACE }],
    });
  });
});
