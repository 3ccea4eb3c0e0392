/**
 * Minimal objects for the rule tests: `compliantWorkload()` passes every rule; each test breaks
 * one thing and asserts the one violation it causes (and its message).
 */
import type { KubeObject } from '../../charts/lib/service';
import { toYaml } from '../../common/yaml';
import { loadDefaultPlatform, type Platform } from '../../config';
import { checkPolicy, formatViolation, policyInput } from '../../policy';
import type { TerraformJson } from '../../policy/types';

export const NS = 'demo';
const labels = { 'app.kubernetes.io/name': 'demo' };

export function namespace(name = NS, level = 'restricted'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
}

export function defaultDeny(ns = NS): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny', namespace: ns },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

export function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'demo', namespace: NS, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: 'demo',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/demo:1.2.3',
              ports: [{ name: 'http', containerPort: 8080 }],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
              readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

export function compliantObjects(): KubeObject[] {
  return [
    namespace(),
    defaultDeny(),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'demo', namespace: NS }, automountServiceAccountToken: false },
    deployment(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'demo', namespace: NS },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'demo', namespace: NS },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'nginx-ingress' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nginx-ingress' } } }],
            ports: [{ port: 8080 }],
          },
        ],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      },
    },
  ];
}

/**
 * The default model without the service mesh: the fixtures are a namespace and a workload, not a
 * meshed platform, so the mesh's gates (test/policy/mesh.test.ts) stay out of the other rules' tests.
 */
const FIXTURE_PLATFORM: Platform = { ...loadDefaultPlatform(), serviceMesh: { enabled: false } };

/** Runs the whole engine over these objects (and stacks / extra files), with the fixture model. */
export function violationsOf(
  objects: KubeObject[],
  options: { stacks?: Record<string, TerraformJson>; files?: Record<string, string>; platform?: Platform } = {},
): string[] {
  const files = new Map<string, string>();
  objects.forEach((object, i) => files.set(`k8s/test/svc/${String(i).padStart(3, '0')}-${object.kind.toLowerCase()}-${object.metadata.name}.yaml`, toYaml(object)));
  for (const [name, json] of Object.entries(options.stacks ?? {})) files.set(`terraform/${name}/cdk.tf.json`, JSON.stringify(json));
  for (const [path, text] of Object.entries(options.files ?? {})) files.set(path, text);
  return checkPolicy(policyInput(files, options.platform ?? FIXTURE_PLATFORM)).map(formatViolation);
}

/** Kubernetes-only: ignores the Argo CD "default project missing" finding a bare object list has. */
export function k8sViolations(objects: KubeObject[]): string[] {
  return violationsOf(objects).filter((v) => !v.startsWith('ARGO-01  AppProject/argocd/default'));
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}
