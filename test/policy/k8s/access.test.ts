import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../charts/lib/service';
import { clone, compliantObjects, k8sViolations, NS } from '../fixtures';

const deploymentOf = (objects: KubeObject[]) => objects.find((o) => o.kind === 'Deployment') as any;

describe('service account, secret and RBAC rules', () => {
  it('K8S-SA-02 fails when the pod runs as the default service account', () => {
    const objects = clone(compliantObjects());
    delete deploymentOf(objects).spec.template.spec.serviceAccountName;
    expect(k8sViolations(objects)).toEqual([
      'K8S-SA-02  Deployment/demo/demo  runs as the default service account; render a dedicated ServiceAccount and set serviceAccountName',
    ]);
  });

  it('K8S-SA-02 fails when the named service account is not rendered', () => {
    const objects = clone(compliantObjects()).filter((o) => o.kind !== 'ServiceAccount');
    expect(k8sViolations(objects)).toEqual([
      'K8S-SA-02  Deployment/demo/demo  service account demo is not rendered in namespace demo; render it next to the workload',
    ]);
  });

  it('K8S-SA-01 fails when a token is mounted that no binding uses, and passes once a Role is bound', () => {
    const objects = clone(compliantObjects());
    delete deploymentOf(objects).spec.template.spec.automountServiceAccountToken;
    delete (objects.find((o) => o.kind === 'ServiceAccount') as any).automountServiceAccountToken;
    expect(k8sViolations(objects)).toEqual([
      'K8S-SA-01  Deployment/demo/demo  mounts the token of demo, which no RoleBinding uses; set automountServiceAccountToken: false',
    ]);
    const role: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'demo', namespace: NS }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] };
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'demo', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'demo' },
      subjects: [{ kind: 'ServiceAccount', name: 'demo', namespace: NS }],
    };
    expect(k8sViolations([...objects, role, binding])).toEqual([]);
  });

  it('K8S-SECRET-01 fails on a literal password in env and a secret-named ConfigMap key', () => {
    const objects = clone(compliantObjects());
    deploymentOf(objects).spec.template.spec.containers[0].env = [{ name: 'DB_PASSWORD', value: 'hunter2' }, { name: 'LOG_LEVEL', value: 'info' }];
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { api_token: 'x', 'app.conf': 'ok' } });
    expect(k8sViolations(objects)).toEqual([
      'K8S-SECRET-01  ConfigMap/demo/cfg  data key api_token looks like a secret; keep secrets in Vault, not ConfigMaps',
      'K8S-SECRET-01  Deployment/demo/demo  container app sets DB_PASSWORD to a literal value; take it from Vault (agent injection) or a mounted file',
    ]);
  });

  it('K8S-SECRET-02 fails on any Secret with data', () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: NS }, stringData: { a: 'b' } };
    expect(k8sViolations([...compliantObjects(), secret])).toEqual([
      'K8S-SECRET-02  Secret/demo/s  is a Secret with data in Git; take the value from Vault or create it by hand (documented), never render it',
    ]);
  });

  it('K8S-RBAC-01/02/03 fail on wildcards, cluster-admin, exec, cluster-wide secrets and missing roles', () => {
    const role: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'wide' },
      rules: [{ apiGroups: ['*'], resources: ['secrets', 'pods/exec'], verbs: ['get'] }],
    };
    const admin: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [],
    };
    const dangling: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'dangling', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'missing' },
      subjects: [],
    };
    expect(k8sViolations([...compliantObjects(), role, admin, dangling])).toEqual([
      'K8S-RBAC-01  ClusterRole/-/wide  grants "*" in apiGroups; list the exact apiGroups it needs',
      'K8S-RBAC-02  ClusterRole/-/wide  grants pods/exec or pods/attach; remove it (it is a shell in every pod it covers)',
      'K8S-RBAC-03  ClusterRole/-/wide  reads secrets cluster-wide; use a Role in the namespace that holds them',
      'K8S-RBAC-01  ClusterRoleBinding/-/admin  binds cluster-admin; bind a least-privilege role instead',
      'K8S-RBAC-02  RoleBinding/demo/dangling  references Role missing, which is not rendered; render it or fix the name',
    ]);
  });

  it('accepts a binding to a built-in cluster role such as system:auth-delegator (Vault needs it)', () => {
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'vault-auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vault', namespace: 'vault' }],
    };
    expect(k8sViolations([...compliantObjects(), binding])).toEqual([]);
  });
});
