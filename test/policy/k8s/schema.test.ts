/**
 * Issue 14 item 2: every built-in object is checked against the pinned Kubernetes version's
 * OpenAPI (imports/k8s/), strictly. Defects are planted into a copy of the default render.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubernetesVersion } from '../../../cli/import-k8s';
import { loadDefaultPlatform } from '../../../config';
import { checkPolicy, formatViolation, policyInput } from '../../../policy';
import { k8sSchemas, validateBuiltIn } from '../../../policy/k8s/schema';
import { runPolicy } from '../../../policy/cli';
import { captureOutput } from '../../support/in-process';
import { defaultRender, parseYamlCached, ROOT } from '../../support/render';

const GRAFANA = 'k8s/platform/grafana/deployment-grafana.yaml';

function plant(path: string, mutate: (object: any) => void): Map<string, string> {
  const files = new Map(defaultRender());
  const object = parse(files.get(path)!);
  mutate(object);
  files.set(path, stringify(object));
  return files;
}

// Parsed through the fixtures' cache: each check edits a file or two of the whole render.
const schemaViolations = (files: Map<string, string>) =>
  checkPolicy(policyInput(files, loadDefaultPlatform(), parseYamlCached))
    .map(formatViolation)
    .filter((v) => v.startsWith('K8S-SCHEMA-'));

describe('strict Kubernetes schema validation (K8S-SCHEMA-01/02)', () => {
  it('GIVEN imports/k8s WHEN read THEN it describes the Kubernetes version k3s pins', () => {
    expect(k8sSchemas().index.kubernetes).toBe(kubernetesVersion());
  });

  it('GIVEN the default render WHEN validated THEN every built-in object is valid and each rendered built-in kind has a schema', () => {
    const objects = policyInput(defaultRender(), loadDefaultPlatform()).objects;
    const builtIn = objects.filter(({ object }) => validateBuiltIn(object) !== undefined);
    // The check must not be skipping built-in kinds: every object of the common built-in kinds is
    // validated (the mesh's custom resources now outnumber them, so a ratio would prove nothing).
    const common = new Set(['Namespace', 'NetworkPolicy', 'ServiceAccount', 'ConfigMap', 'Service', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Role', 'RoleBinding', 'Ingress']);
    const ofCommonKinds = objects.filter(({ object }) => common.has(object.kind));
    expect(ofCommonKinds.length).toBeGreaterThan(common.size);
    expect(ofCommonKinds.filter((entry) => !builtIn.includes(entry)).map(({ object }) => `${object.kind}/${object.metadata.name}`)).toEqual([]);
    expect(builtIn.filter(({ object }) => validateBuiltIn(object)!.problems.length)).toEqual([]);
  });

  it('fails when a pod spec has unknown fields deep inside (securityContex, probe paht, volumeMount), naming the file and JSON path', () => {
    const found = schemaViolations(
      plant(GRAFANA, (o) => {
        const c = o.spec.template.spec.containers[0];
        c.securityContex = c.securityContext;
        delete c.securityContext;
        c.readinessProbe.httpGet.paht = c.readinessProbe.httpGet.path;
        c.volumeMount = c.volumeMounts;
      }),
    );
    expect(found).toEqual([
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0] has unknown field "securityContex"`,
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0] has unknown field "volumeMount"`,
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0].readinessProbe.httpGet has unknown field "paht"`,
    ]);
  });

  it('fails on a wrong type, a missing required field and a value outside an enum', () => {
    const found = schemaViolations(
      plant(GRAFANA, (o) => {
        o.spec.replicas = 'two';
        delete o.spec.template.spec.containers[0].name;
        o.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
        o.spec.template.spec.containers[0].ports[0].protocol = 'tcp';
      }),
    );
    expect(found).toEqual([
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.replicas must be integer`,
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0] misses required field "name"`,
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0].imagePullPolicy is not one of "Always", "IfNotPresent", "Never"`,
      `K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0].ports[0].protocol is not one of "SCTP", "TCP", "UDP"`,
    ]);
  });

  it('accepts what the API server accepts: int-or-string ports, numeric and string quantities, null for an unset field', () => {
    const found = schemaViolations(
      plant(GRAFANA, (o) => {
        const c = o.spec.template.spec.containers[0];
        c.readinessProbe.httpGet.port = 3000; // the render names it; a number is as valid
        c.resources.requests.cpu = 1;
        c.resources.limits.memory = '1.5Gi';
        o.metadata.creationTimestamp = null;
      }),
    );
    expect(found).toEqual([]);
    expect(schemaViolations(plant(GRAFANA, (o) => (o.spec.template.spec.containers[0].resources.limits.memory = '1.5 GB')))).toEqual([
      expect.stringMatching(/^K8S-SCHEMA-01 {2}Deployment\/monitoring\/grafana {2}.*: \.spec\.template\.spec\.containers\[0\]\.resources\.limits\.memory matches no allowed form: must match pattern .*; or must be number$/),
    ]);
  });

  it('fails when an apiVersion is one the pinned version does not serve (policy/v1beta1 PodDisruptionBudget), and skips custom resources', () => {
    const path = 'k8s/platform/grafana/deployment-grafana.yaml';
    const files = new Map(defaultRender());
    files.set('k8s/platform/grafana/pdb.yaml', stringify({ apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name: 'grafana', namespace: 'monitoring' }, spec: { maxUnavailable: 1 } }));
    files.set('k8s/platform/grafana/ingress-old.yaml', stringify({ apiVersion: 'extensions/v1beta1', kind: 'Ingress', metadata: { name: 'old', namespace: 'monitoring' }, spec: {} }));
    files.set('k8s/platform/grafana/custom.yaml', stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'monitoring' }, spec: { anything: true } }));
    expect(files.has(path)).toBe(true);
    expect(schemaViolations(files)).toEqual([
      'K8S-SCHEMA-02  Ingress/monitoring/old  k8s/platform/grafana/ingress-old.yaml: extensions/v1beta1 Ingress is not served by Kubernetes ' +
        `${kubernetesVersion()} (removed, or no such kind); use apiVersion networking.k8s.io/v1`,
      'K8S-SCHEMA-02  PodDisruptionBudget/monitoring/grafana  k8s/platform/grafana/pdb.yaml: policy/v1beta1 PodDisruptionBudget is not served by Kubernetes ' +
        `${kubernetesVersion()} (removed, or no such kind); use apiVersion policy/v1`,
    ]);
    expect(validateBuiltIn({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x' } } as never)).toBeUndefined();
  });

  it('fails when a beta or alpha API that is off by default is used', () => {
    const [key, why] = Object.entries(k8sSchemas().index.notServed)[0];
    const [group, version, kind] = key.split('/');
    const result = validateBuiltIn({ apiVersion: group ? `${group}/${version}` : version, kind, metadata: { name: 'x' } } as never);
    expect(result?.served).toBe(false);
    expect(result?.problems[0]).toContain(why);
  });

  it('npm run policy -- --dir refuses a copy of dist/ with an unknown pod spec field (exit 1, file and path named)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-schema-'));
    try {
      cpSync(join(ROOT, 'dist'), dir, { recursive: true });
      const file = join(dir, GRAFANA);
      const object = parse(readFileSync(file, 'utf8'));
      object.spec.template.spec.containers[0].securityContex = {};
      writeFileSync(file, stringify(object));
      // In this process (runPolicy, what the entry calls); test/policy/render.test.ts runs it as a process.
      const result = captureOutput(() => runPolicy(['--dir', dir]));
      expect(result.status, result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toContain(`K8S-SCHEMA-01  Deployment/monitoring/grafana  ${GRAFANA}: .spec.template.spec.containers[0] has unknown field "securityContex"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
