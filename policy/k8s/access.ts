/** Service accounts, secrets and RBAC (POLICY-RULES.md 2.3). */
import { refOf, type PolicyInput, type RenderedObject, type Violation } from '../types';
import { allContainers, workloads } from './workloads';

const SECRET_NAME = /secret|password|passwd|token|bearer|api[_-]?key|private[_-]?key|credential/i;
const SECRET_EXACT = [/^AWS_SECRET_ACCESS_KEY$/, /^GOOGLE_APPLICATION_CREDENTIALS$/, /^AZURE_.+KEY$/, /^OCI_CLI_KEY_CONTENT$/];
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || SECRET_EXACT.some((re) => re.test(name));
}

/** Names Kubernetes creates or ships itself, which a RoleBinding may reference without rendering them. */
const BUILT_IN_CLUSTER_ROLES = new Set(['view', 'edit', 'admin', 'cluster-admin']);
function isBuiltInClusterRole(name: string): boolean {
  return BUILT_IN_CLUSTER_ROLES.has(name) || name.startsWith('system:');
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  nonResourceURLs?: string[];
}

export function accessRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const push = (object: RenderedObject['object'], rule: string, message: string) => violations.push({ rule, ref: refOf(object), message });
  const byKind = (kind: string) => input.objects.filter(({ object }) => object.kind === kind).map(({ object }) => object);
  const serviceAccounts = byKind('ServiceAccount');
  const bindings = [...byKind('RoleBinding'), ...byKind('ClusterRoleBinding')];

  for (const workload of workloads(input.objects)) {
    const { object, pod } = workload;
    const namespace = object.metadata.namespace;
    if (pod.serviceAccount) push(object, 'K8S-SA-02', 'uses the deprecated serviceAccount field; use serviceAccountName');
    const saName = pod.serviceAccountName;
    if (!saName || saName === 'default') {
      push(object, 'K8S-SA-02', 'runs as the default service account; render a dedicated ServiceAccount and set serviceAccountName');
      continue;
    }
    const sa = serviceAccounts.find((s) => s.metadata.name === saName && s.metadata.namespace === namespace);
    if (!sa) {
      push(object, 'K8S-SA-02', `service account ${saName} is not rendered in namespace ${namespace}; render it next to the workload`);
      continue;
    }
    const automount = pod.automountServiceAccountToken ?? (sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken;
    if (automount !== false) {
      const bound = bindings.some((b) =>
        ((b.subjects as { kind: string; name: string; namespace?: string }[] | undefined) ?? []).some(
          (s) => s.kind === 'ServiceAccount' && s.name === saName && (s.namespace ?? b.metadata.namespace) === namespace,
        ),
      );
      if (!bound) {
        push(object, 'K8S-SA-01', `mounts the token of ${saName}, which no RoleBinding uses; set automountServiceAccountToken: false`);
      }
    }
    for (const c of allContainers(pod)) {
      for (const env of c.env ?? []) {
        if (env.value === undefined) continue;
        if (isSecretName(env.name) && env.value !== '') {
          push(object, 'K8S-SECRET-01', `container ${c.name} sets ${env.name} to a literal value; take it from Vault (agent injection) or a mounted file`);
        } else if (PRIVATE_KEY.test(env.value)) {
          push(object, 'K8S-SECRET-01', `container ${c.name} env ${env.name} holds a private key; never put keys in manifests`);
        }
      }
    }
  }

  for (const configMap of byKind('ConfigMap')) {
    for (const [key, value] of Object.entries((configMap.data as Record<string, string> | undefined) ?? {})) {
      if (PRIVATE_KEY.test(value)) push(configMap, 'K8S-SECRET-01', `data ${key} holds a private key; never put keys in manifests`);
      else if (isSecretName(key)) push(configMap, 'K8S-SECRET-01', `data key ${key} looks like a secret; keep secrets in Vault, not ConfigMaps`);
    }
  }

  for (const secret of byKind('Secret')) {
    if (secret.data || secret.stringData) {
      push(secret, 'K8S-SECRET-02', 'is a Secret with data in Git; take the value from Vault or create it by hand (documented), never render it');
    }
  }

  const roles = [...byKind('Role'), ...byKind('ClusterRole')];
  for (const role of roles) {
    for (const rule of (role.rules as PolicyRule[] | undefined) ?? []) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'nonResourceURLs'] as const) {
        if ((rule[field] ?? []).includes('*')) push(role, 'K8S-RBAC-01', `grants "*" in ${field}; list the exact ${field} it needs`);
      }
      const resources = rule.resources ?? [];
      const verbs = rule.verbs ?? [];
      if (resources.some((r) => r === 'pods/exec' || r === 'pods/attach') && verbs.some((v) => ['get', 'create', '*'].includes(v))) {
        push(role, 'K8S-RBAC-02', 'grants pods/exec or pods/attach; remove it (it is a shell in every pod it covers)');
      }
      if (role.kind === 'ClusterRole' && resources.includes('secrets') && verbs.some((v) => ['get', 'list', 'watch'].includes(v))) {
        push(role, 'K8S-RBAC-03', 'reads secrets cluster-wide; use a Role in the namespace that holds them');
      }
      const creates = ['pods', 'deployments', 'statefulsets', 'replicasets', 'jobs', 'cronjobs', 'daemonsets'].filter((r) => resources.includes(r));
      if (role.kind === 'ClusterRole' && creates.length && verbs.includes('create')) {
        push(role, 'K8S-RBAC-03', `creates ${creates.join(', ')} cluster-wide; use a Role in the namespace it manages`);
      }
    }
  }

  for (const binding of bindings) {
    const roleRef = binding.roleRef as { kind: string; name: string } | undefined;
    if (!roleRef) continue;
    if (roleRef.name === 'cluster-admin') push(binding, 'K8S-RBAC-01', 'binds cluster-admin; bind a least-privilege role instead');
    const exists =
      roleRef.kind === 'ClusterRole'
        ? isBuiltInClusterRole(roleRef.name) || roles.some((r) => r.kind === 'ClusterRole' && r.metadata.name === roleRef.name)
        : roles.some((r) => r.kind === 'Role' && r.metadata.name === roleRef.name && r.metadata.namespace === binding.metadata.namespace);
    if (!exists) push(binding, 'K8S-RBAC-02', `references ${roleRef.kind} ${roleRef.name}, which is not rendered; render it or fix the name`);
  }
  return violations;
}
