/**
 * The allow list of policy exceptions. An object may waive a rule only if (1) it declares the
 * waiver where it is built (common/policy-exceptions.ts annotation, visible in dist/), (2) a profile
 * below grants that rule to that kind of object, and (3) the object stays as narrow as the
 * profile says upstream needs. Anything else is a violation of its own.
 *
 * Profiles come from POLICY-RULES.md section 3 (what upstream actually renders).
 */
import type { KubeObject } from '../charts/lib/service';
import { parsePolicyExceptions, POLICY_EXCEPTIONS_ANNOTATION } from '../common/policy-exceptions';
import type { IngressRule } from './k8s/network';
import { allContainers, workloadOf, type Workload } from './k8s/workloads';
import { resources, tfRef, type TfResource } from './terraform/json';
import { refOf, type RenderedObject, type RenderedStack, type Violation } from './types';

export interface ExceptionProfile {
  /** What it is, for the listing. */
  readonly component: string;
  /** Which objects it covers. */
  matches(object: KubeObject): boolean;
  /** The rules it may waive. */
  readonly rules: readonly string[];
  /** What must still hold; each string is a problem. */
  narrow(object: KubeObject, workload: Workload | undefined): string[];
}

const appName = (o: KubeObject) => (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/name'];

/** Host paths a profile may mount, each read-only unless it says otherwise. */
function hostPathsWithin(workload: Workload | undefined, allowed: Record<string, { writable?: boolean }>): string[] {
  if (!workload) return ['is not a workload'];
  const problems: string[] = [];
  const volumes = new Map((workload.pod.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
  for (const [name, path] of volumes) {
    const rule = allowed[path];
    if (!rule) {
      problems.push(`mounts hostPath ${path}; only ${Object.keys(allowed).join(', ')} are allowed`);
      continue;
    }
    for (const c of allContainers(workload.pod)) {
      for (const mount of c.volumeMounts ?? []) {
        if (mount.name === name && !mount.readOnly && !rule.writable) problems.push(`container ${c.name} mounts ${path} writable; mount it readOnly: true`);
      }
    }
  }
  return problems;
}

function noPrivilege(workload: Workload | undefined): string[] {
  if (!workload) return [];
  const problems: string[] = [];
  for (const c of allContainers(workload.pod)) {
    if (c.securityContext?.privileged) problems.push(`container ${c.name} is privileged`);
    const added = c.securityContext?.capabilities?.add ?? [];
    if (added.length) problems.push(`container ${c.name} adds capabilities ${added.join(', ')}`);
  }
  return problems;
}

/** A namespace whose Pod Security level may be lower than restricted, and why. */
function namespaceProfile(component: string, names: readonly string[], level: 'privileged' | 'baseline'): ExceptionProfile {
  return {
    component,
    matches: (o) => o.kind === 'Namespace' && names.includes(o.metadata.name),
    rules: ['K8S-SEC-11'],
    narrow: (o) => {
      // Levels from least to most permissive; the namespace may go down to `level` and no further.
      // audit and warn follow enforce (upstream labels all three alike; restricted warnings on
      // every sync of a known-privileged workload would only teach people to ignore them).
      const order = ['restricted', 'baseline', 'privileged'];
      const labels = (o.metadata.labels as Record<string, string>) ?? {};
      return ['enforce', 'audit', 'warn'].flatMap((mode) => {
        const value = labels[`pod-security.kubernetes.io/${mode}`] ?? 'privileged';
        return order.indexOf(value) > order.indexOf(level) ? [`${mode}s ${value}; this namespace may go down to ${level} and no further`] : [];
      });
    },
  };
}

export const PROFILES: readonly ExceptionProfile[] = [
  {
    component: 'node-exporter (host metrics)',
    matches: (o) => o.kind === 'DaemonSet' && appName(o) === 'node-exporter',
    rules: ['K8S-SEC-01', 'K8S-SEC-08'],
    narrow: (_o, w) => [
      ...(w?.pod.hostIPC ? ['sets hostIPC; only hostNetwork and hostPID are needed'] : []),
      ...hostPathsWithin(w, { '/proc': {}, '/sys': {}, '/': {} }),
      ...noPrivilege(w),
    ],
  },
  {
    component: 'log shipper (reads node and pod logs)',
    matches: (o) => o.kind === 'DaemonSet' && ['promtail', 'fluent-bit', 'alloy', 'vector', 'log-shipper'].includes(appName(o) ?? ''),
    rules: ['K8S-SEC-08'],
    narrow: (_o, w) => [
      ...(w?.pod.hostNetwork || w?.pod.hostPID || w?.pod.hostIPC ? ['uses a host namespace; it only reads files'] : []),
      ...hostPathsWithin(w, { '/var/log': {}, '/var/log/pods': {}, '/var/log/journal': {}, '/run/log/journal': {}, '/etc/machine-id': {} }),
      ...noPrivilege(w),
    ],
  },
  {
    component: 'Kaniko build pod (Jenkins agent)',
    matches: (o) => ['Pod', 'Job'].includes(o.kind) && appName(o) === 'kaniko',
    rules: ['K8S-SEC-04', 'K8S-SEC-05', 'K8S-SEC-07'],
    narrow: (_o, w) => [
      ...(w?.pod.hostNetwork || w?.pod.hostPID || w?.pod.hostIPC ? ['uses a host namespace; Kaniko needs none'] : []),
      ...((w?.pod.volumes ?? []).some((v) => v.hostPath) ? ['mounts a hostPath; Kaniko needs none (never the docker socket)'] : []),
      ...noPrivilege(w),
      ...(w && !allContainers(w.pod).every((c) => (c.securityContext?.seccompProfile?.type ?? w.pod.securityContext?.seccompProfile?.type) === 'RuntimeDefault')
        ? ['does not run with seccomp RuntimeDefault; Kaniko does not need it disabled']
        : []),
    ],
  },
  {
    component: 'Jenkins kubernetes plugin (runs pipeline steps in build containers through exec)',
    matches: (o) => o.kind === 'Role' && ['builds', 'jenkins-builds'].includes(o.metadata.namespace ?? ''),
    rules: ['K8S-RBAC-02'],
    narrow: (o) =>
      ((o.rules as { resources?: string[]; verbs?: string[] }[] | undefined) ?? []).flatMap((rule) => [
        ...((rule.resources ?? []).includes('pods/attach') || (rule.resources ?? []).includes('*') ? ['grants pods/attach or "*"; exec is all the plugin needs'] : []),
        ...((rule.resources ?? []).includes('pods/exec') && (rule.verbs ?? []).some((v) => !['create', 'get'].includes(v)) ? ['grants pods/exec verbs beyond create and get'] : []),
      ]),
  },
  {
    // rancher/system-upgrade-controller v0.20.1 opens no port (no health or metrics endpoint):
    // there is nothing to probe; Kubernetes restarts it when the process exits.
    component: 'system-upgrade-controller (serves no HTTP, nothing to probe)',
    matches: (o) => o.kind === 'Deployment' && o.metadata.namespace === 'system-upgrade' && appName(o) === 'system-upgrade-controller',
    rules: ['K8S-PRB-01'],
    narrow: (_o, w) => [
      ...((w ? allContainers(w.pod) : []).some((c) => (c.ports ?? []).length > 0) ? ['declares a port; probe it instead'] : []),
      ...noPrivilege(w),
    ],
  },
  namespaceProfile('MetalLB (speaker needs hostNetwork and NET_RAW)', ['metallb-system'], 'privileged'),
  namespaceProfile('ceph-csi RBD (node plugin mounts volumes on the host)', ['ceph-csi-rbd', 'ceph-csi'], 'privileged'),
  // No host path (disableHostPath) and no privilege: root alone needs baseline (decision 0102).
  namespaceProfile('Velero node agent and data mover pods (root, no host path)', ['velero'], 'baseline'),
  namespaceProfile('node-exporter (host namespaces and read-only host mounts)', ['node-exporter'], 'privileged'),
  namespaceProfile('log shipper (read-only host log mounts)', ['logging'], 'privileged'),
  namespaceProfile('kured (reboots its node: privileged, host PID)', ['kured'], 'privileged'),
  namespaceProfile('system-upgrade-controller (k3s upgrade Jobs replace the host binary)', ['system-upgrade'], 'privileged'),
  // Linkerd's CNI plugin installer copies its plugin and configuration into the node's CNI folders
  // (host paths, as root), so meshed pods need no NET_ADMIN init container (decision 0123).
  namespaceProfile('Linkerd CNI plugin (writes the node CNI folders)', ['linkerd-cni'], 'privileged'),
  namespaceProfile('Kaniko builds (root inside the build container)', ['builds', 'jenkins-builds'], 'baseline'),
];

/**
 * NetworkPolicy ingress rules that may admit every source (K8S-NET-03): the public entry points,
 * and nothing else. Each entry covers exactly one rule: the namespace, the pods the policy
 * selects, the one peer and the ports must all be as written here; a rule that differs in any of
 * them (another port, a second peer, other pods) is a violation. There is no annotation to opt in:
 * opening a workload to the world is decided here, in review of this file.
 */
export interface OpenIngressException {
  readonly component: string;
  readonly reason: string;
  readonly namespace: string;
  /** The policy's `spec.podSelector.matchLabels`, exactly. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** The rule's only peer: an ipBlock with this CIDR. */
  readonly cidr: string;
  /** The rule's ports, exactly, as `PROTOCOL/port`. */
  readonly ports: readonly string[];
}

export const OPEN_INGRESS: readonly OpenIngressException[] = [
  {
    component: 'NGINX Ingress Controller (the public entry point)',
    reason: 'HAProxy on the gateway forwards public HTTP(S) over the mesh to the MetalLB address; the source is whatever address the mesh route presents, so the rule cannot name it',
    namespace: 'nginx-ingress',
    podLabels: { 'app.kubernetes.io/name': 'nginx-ingress' },
    cidr: '0.0.0.0/0',
    ports: ['TCP/443', 'TCP/80'],
  },
];

const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** The OPEN_INGRESS entry that covers exactly this rule of this NetworkPolicy, if any. */
export function openIngressException(policy: KubeObject, rule: IngressRule): OpenIngressException | undefined {
  const spec = policy.spec as { podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } } | undefined;
  const ports = (rule.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ''}`).sort();
  return OPEN_INGRESS.find(
    (e) =>
      policy.metadata.namespace === e.namespace &&
      !(spec?.podSelector?.matchExpressions ?? []).length &&
      sameRecord(spec?.podSelector?.matchLabels ?? {}, e.podLabels) &&
      rule.from?.length === 1 &&
      Object.keys(rule.from[0]).length === 1 &&
      rule.from[0].ipBlock?.cidr === e.cidr &&
      ports.length === e.ports.length &&
      [...e.ports].sort().every((p, i) => p === ports[i]),
  );
}

/**
 * Terraform resources declare exceptions under their `"//"` key (infra/lib/policy.ts), in the
 * annotation's format. Only the gateway's egress rules may waive TF-SG-03, and only port by port.
 */
export interface TerraformExceptionProfile {
  readonly component: string;
  matches(resource: TfResource): boolean;
  readonly rules: readonly string[];
  narrow(resource: TfResource): string[];
}

export const TERRAFORM_PROFILES: readonly TerraformExceptionProfile[] = [
  {
    component: 'gateway egress to the internet (package mirrors, ACME, NATed mesh peers)',
    matches: (r) => r.type === 'aws_vpc_security_group_egress_rule' || (r.type === 'aws_security_group_rule' && r.body.type === 'egress'),
    rules: ['TF-SG-03'],
    narrow: (r) => {
      const protocol = String(r.body.ip_protocol ?? r.body.protocol ?? '');
      const from = Number(r.body.from_port ?? 0);
      const to = Number(r.body.to_port ?? 65535);
      if (protocol === '-1' || protocol === 'all') return ['allows every protocol; name tcp or udp and the ports'];
      if (from <= 1 && to >= 65535) return ['allows every port; list the ports the gateway needs'];
      return [];
    },
  },
];

/** Something that can declare exceptions: a Kubernetes object or a Terraform resource. */
interface Subject {
  readonly ref: string;
  readonly declared: Map<string, string>;
  /** The component whose profile grants `rule` to this subject, if any. */
  grant(rule: string): string | undefined;
  /** Problems that make the granted exceptions broader than upstream needs. */
  narrowness(): { component: string; problem: string }[];
}

function subjects(objects: readonly RenderedObject[], stacks: readonly RenderedStack[]): Subject[] {
  const kube: Subject[] = objects.map(({ object }) => {
    const declared = parsePolicyExceptions(object.metadata.annotations as Record<string, string> | undefined);
    const profiles = PROFILES.filter((p) => p.matches(object));
    return {
      ref: refOf(object),
      declared,
      grant: (rule) => profiles.find((p) => p.rules.includes(rule))?.component,
      narrowness: () =>
        profiles
          .filter((p) => p.rules.some((r) => declared.has(r)))
          .flatMap((p) => p.narrow(object, workloadOf({ path: '', object })).map((problem) => ({ component: p.component, problem }))),
    };
  });
  const terraform: Subject[] = resources(stacks).map((resource) => {
    const meta = resource.body['//'] as Record<string, string> | undefined;
    const declared = parsePolicyExceptions({ [POLICY_EXCEPTIONS_ANNOTATION]: meta?.policy_exceptions ?? '' });
    const profiles = TERRAFORM_PROFILES.filter((p) => p.matches(resource));
    return {
      ref: tfRef(resource),
      declared,
      grant: (rule) => profiles.find((p) => p.rules.includes(rule))?.component,
      narrowness: () =>
        profiles.filter((p) => p.rules.some((r) => declared.has(r))).flatMap((p) => p.narrow(resource).map((problem) => ({ component: p.component, problem }))),
    };
  });
  return [...kube, ...terraform];
}

export interface DeclaredException {
  readonly ref: string;
  readonly rule: string;
  readonly reason: string;
  readonly component?: string;
}

/** Every exception declared in the render, with the profile that grants it (if any). */
export function declaredExceptions(objects: readonly RenderedObject[], stacks: readonly RenderedStack[] = []): DeclaredException[] {
  const annotated = subjects(objects, stacks).flatMap((subject) =>
    [...subject.declared].map(([rule, reason]) => ({ ref: subject.ref, rule, reason, component: subject.grant(rule) })),
  );
  // Open ingress rules are granted here rather than annotated: list the ones the render uses.
  const openIngress = objects.flatMap(({ object }) =>
    object.kind !== 'NetworkPolicy'
      ? []
      : (((object.spec as { ingress?: IngressRule[] } | undefined)?.ingress ?? []).flatMap((rule) => {
          const granted = openIngressException(object, rule);
          return granted ? [{ ref: refOf(object), rule: 'K8S-NET-03', reason: granted.reason, component: granted.component }] : [];
        })),
  );
  return [...annotated, ...openIngress];
}

/**
 * Applies the declared exceptions to raw violations: waived ones are dropped; exceptions the
 * allow list does not grant, that are broader than upstream needs, or that waive nothing are
 * reported (POLICY-EXC-01/02/03).
 */
export function applyExceptions(objects: readonly RenderedObject[], stacks: readonly RenderedStack[], raw: readonly Violation[]): Violation[] {
  const all = subjects(objects, stacks);
  const byRef = new Map(all.map((subject) => [subject.ref, subject]));
  const result: Violation[] = [];
  const waived = new Set<string>();
  for (const violation of raw) {
    const subject = byRef.get(violation.ref);
    if (subject?.declared.has(violation.rule) && subject.grant(violation.rule)) {
      waived.add(`${violation.ref} ${violation.rule}`);
      continue;
    }
    result.push(violation);
  }
  for (const subject of all) {
    for (const rule of subject.declared.keys()) {
      if (!subject.grant(rule)) {
        result.push({ rule: 'POLICY-EXC-01', ref: subject.ref, message: `declares an exception to ${rule} that the allow list (policy/exceptions.ts) does not grant to this object; meet the rule instead` });
      } else if (!waived.has(`${subject.ref} ${rule}`)) {
        result.push({ rule: 'POLICY-EXC-03', ref: subject.ref, message: `declares an exception to ${rule} it does not need; remove it` });
      }
    }
    for (const { component, problem } of subject.narrowness()) {
      result.push({ rule: 'POLICY-EXC-02', ref: subject.ref, message: `exception for ${component} is broader than upstream needs: ${problem}` });
    }
  }
  return result;
}
