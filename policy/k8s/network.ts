/**
 * Namespaces, NetworkPolicies, Services and Ingresses (POLICY-RULES.md 2.1 K8S-SEC-11, 2.4, 2.5).
 *
 * Objects that upstream Helm charts install are not in dist/ (Argo CD renders them at sync time),
 * so references into a namespace where an Application installs a chart (a Service an Ingress
 * names, the pods a NetworkPolicy selects) are trusted rather than checked.
 */
import type { KubeObject } from '../../charts/lib/service';
import { openIngressException } from '../exceptions';
import { refOf, type PolicyInput, type Violation } from '../types';
import { selects, workloads } from './workloads';

export const PSA_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
const PSA = 'pod-security.kubernetes.io';
/** Namespaces whose objects are cluster-scoped or live in the cluster's own namespaces. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'VolumeSnapshotClass',
  'ClusterIssuer',
  // trust-manager's Bundle (trust.cert-manager.io/v1alpha1) is cluster-scoped: it writes a ConfigMap
  // into the namespaces it selects (the service mesh's trust roots).
  'Bundle',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

interface NetworkPolicySpec {
  podSelector?: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: IngressRule[];
  egress?: unknown[];
}

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
export interface NetworkPolicyPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr?: string; except?: string[] };
}
export interface IngressRule {
  from?: NetworkPolicyPeer[];
  ports?: { port?: number | string; protocol?: string; endPort?: number }[];
}

const selectsEverything = (selector: Selector | undefined) =>
  selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;

/**
 * Why an ingress rule admits more than named peers, or undefined when it does not. Upstream
 * semantics (kubernetes/website content/en/docs/concepts/services-networking/network-policies.md,
 * and the NetworkPolicyIngressRule / NetworkPolicyPeer docs in k8s.io/api networking/v1/types.go):
 * a rule without `from` (or with an empty list) matches all sources; `namespaceSelector: {}`
 * selects every namespace (and a pod label, which anyone who can create a pod can set, does not
 * narrow that); an ipBlock of /0 is every address; a peer with no selector at all names nothing
 * in particular and the API server refuses it, so it is read as "all".
 */
export function openness(rule: IngressRule): string | undefined {
  if (!rule.from || rule.from.length === 0) return 'has no from: it admits every source (all pods of all namespaces and every address)';
  for (const peer of rule.from) {
    if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock) return 'has an empty peer {}: it names no source, read as every source';
    if (selectsEverything(peer.namespaceSelector)) {
      return selectsEverything(peer.podSelector) || !peer.podSelector
        ? 'admits every pod of every namespace (namespaceSelector: {})'
        : 'admits pods of every namespace (namespaceSelector: {}); a pod label does not narrow it, anyone who can create a pod sets it';
    }
    const cidr = peer.ipBlock?.cidr ?? '';
    if (/\/0$/.test(cidr)) return `admits every address (ipBlock ${cidr})`;
  }
  return undefined;
}

/** Namespaces into which some Application installs an upstream chart. */
export function chartNamespaces(input: PolicyInput): Set<string> {
  const namespaces = new Set<string>();
  for (const { object } of input.objects) {
    if (object.kind !== 'Application') continue;
    const spec = object.spec as { source?: { chart?: string }; sources?: { chart?: string }[]; destination?: { namespace?: string } };
    const sources = spec.sources ?? (spec.source ? [spec.source] : []);
    if (sources.some((s) => s.chart) && spec.destination?.namespace) namespaces.add(spec.destination.namespace);
  }
  return namespaces;
}

function isDefaultDeny(spec: NetworkPolicySpec): boolean {
  const selector = spec.podSelector ?? {};
  const selectsAll = Object.keys(selector.matchLabels ?? {}).length === 0 && !('matchExpressions' in selector);
  const types = spec.policyTypes ?? [];
  return selectsAll && types.includes('Ingress') && types.includes('Egress') && !spec.ingress?.length && !spec.egress?.length;
}

export function networkRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const push = (object: KubeObject, rule: string, message: string) => violations.push({ rule, ref: refOf(object), message });
  const objects = input.objects.map(({ object }) => object);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const fromCharts = chartNamespaces(input);
  const namespaces = of('Namespace');
  const policies = of('NetworkPolicy');
  const pods = workloads(input.objects);

  for (const object of objects) {
    if (CLUSTER_SCOPED.has(object.kind)) continue;
    if (!object.metadata.namespace) push(object, 'K8S-NS-01', 'has no metadata.namespace; set it explicitly');
    else if (object.metadata.namespace === 'default') push(object, 'K8S-NS-01', 'lives in the default namespace; give it its own namespace');
  }

  for (const ns of namespaces) {
    const labels = (ns.metadata.labels as Record<string, string> | undefined) ?? {};
    const enforce = labels[`${PSA}/enforce`];
    for (const mode of ['enforce', 'audit', 'warn']) {
      const level = labels[`${PSA}/${mode}`];
      if (!level) push(ns, 'K8S-SEC-11', `has no ${PSA}/${mode} label; set it (restricted unless a declared exception needs more)`);
      else if (!(PSA_LEVELS as readonly string[]).includes(level)) push(ns, 'K8S-SEC-11', `${PSA}/${mode} is "${level}"; use privileged, baseline or restricted`);
    }
    if (enforce && enforce !== 'restricted') {
      push(ns, 'K8S-SEC-11', `enforces Pod Security "${enforce}"; use restricted (a weaker level needs a declared exception)`);
    }
    const name = ns.metadata.name;
    const denies = policies.some((p) => p.metadata.namespace === name && isDefaultDeny(p.spec as NetworkPolicySpec));
    if (!denies) {
      push(ns, 'K8S-NET-01', 'has no default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress], no rules); render one');
    }
  }

  for (const policy of policies) {
    const spec = policy.spec as NetworkPolicySpec;
    (spec.ingress ?? []).forEach((rule, index) => {
      const open = openness(rule);
      if (open && !openIngressException(policy, rule)) {
        push(policy, 'K8S-NET-03', `ingress[${index}] ${open}; name the peers (namespaceSelector and podSelector with labels, or an ipBlock), or declare the public entry point in policy/exceptions.ts (OPEN_INGRESS)`);
      }
    });
  }

  for (const policy of policies) {
    const spec = policy.spec as NetworkPolicySpec;
    if (isDefaultDeny(spec) || fromCharts.has(policy.metadata.namespace ?? '')) continue;
    const selected = pods.some((w) => w.object.metadata.namespace === policy.metadata.namespace && selects(spec.podSelector, w.podLabels));
    if (!selected) push(policy, 'K8S-NET-02', 'selects no rendered pod; fix its podSelector or remove it');
  }

  for (const workload of pods) {
    const namespace = workload.object.metadata.namespace;
    const covering = policies.filter(
      (p) => p.metadata.namespace === namespace && !isDefaultDeny(p.spec as NetworkPolicySpec) && selects((p.spec as NetworkPolicySpec).podSelector, workload.podLabels),
    );
    const has = (type: string) => covering.some((p) => ((p.spec as NetworkPolicySpec).policyTypes ?? []).includes(type));
    if (!has('Egress')) {
      push(workload.object, 'K8S-NET-02', 'no NetworkPolicy allows its egress (not even DNS); declare the connections it needs');
    }
    const served = of('Service').some(
      (s) => s.metadata.namespace === namespace && selects({ matchLabels: (s.spec as { selector?: Record<string, string> }).selector }, workload.podLabels),
    );
    if (served && !has('Ingress')) {
      push(workload.object, 'K8S-NET-02', 'a Service targets it but no NetworkPolicy allows ingress to it; declare who connects');
    }
    const selector = (workload.object.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
    if (workload.object.kind !== 'Pod' && workload.object.kind !== 'CronJob' && workload.object.kind !== 'Job' && !selects(selector, workload.podLabels)) {
      push(workload.object, 'K8S-REL-01', 'spec.selector does not match the pod template labels; make them agree');
    }
    if (workload.object.kind === 'StatefulSet') {
      const serviceName = (workload.object.spec as { serviceName?: string }).serviceName;
      const headless = of('Service').find((s) => s.metadata.namespace === namespace && s.metadata.name === serviceName);
      if (!headless || (headless.spec as { clusterIP?: string }).clusterIP !== 'None') {
        push(workload.object, 'K8S-REL-01', `serviceName ${serviceName ?? '(none)'} is not a headless Service in ${namespace}; render one with clusterIP: None`);
      }
    }
  }

  for (const service of of('Service')) {
    const spec = service.spec as { type?: string; selector?: Record<string, string>; ports?: { port: number; name?: string }[] };
    if (spec.type === 'NodePort') push(service, 'K8S-SVC-01', 'is type NodePort; use ClusterIP behind the ingress controller');
    if (spec.type === 'LoadBalancer' && (service.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/name'] !== 'nginx-ingress') {
      push(service, 'K8S-SVC-01', 'is type LoadBalancer; only the ingress controller gets a MetalLB address, route through an Ingress');
    }
    if (spec.selector && !fromCharts.has(service.metadata.namespace ?? '')) {
      const targets = pods.some((w) => w.object.metadata.namespace === service.metadata.namespace && selects({ matchLabels: spec.selector }, w.podLabels));
      if (!targets) push(service, 'K8S-REL-01', 'selects no rendered pod; fix its selector');
    }
  }

  for (const ingress of of('Ingress')) {
    const spec = ingress.spec as {
      tls?: { hosts?: string[]; secretName?: string }[];
      rules?: { host?: string; http?: { paths?: { backend?: { service?: { name: string; port?: { number?: number; name?: string } } } }[] } }[];
      ingressClassName?: string;
    };
    const tlsHosts = new Set((spec.tls ?? []).flatMap((t) => (t.secretName ? (t.hosts ?? []) : [])));
    for (const rule of spec.rules ?? []) {
      if (!rule.host) push(ingress, 'K8S-SVC-02', 'has a rule without a host; name the host');
      else if (!tlsHosts.has(rule.host)) push(ingress, 'K8S-SVC-02', `serves ${rule.host} without TLS; add it to spec.tls with a secretName`);
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend?.service;
        if (!backend) continue;
        if (fromCharts.has(ingress.metadata.namespace ?? '')) continue;
        const target = of('Service').find((s) => s.metadata.namespace === ingress.metadata.namespace && s.metadata.name === backend.name);
        const ports = (target?.spec as { ports?: { port: number; name?: string }[] } | undefined)?.ports ?? [];
        if (!target) push(ingress, 'K8S-REL-01', `backend service ${backend.name} does not exist in ${ingress.metadata.namespace}; fix the name`);
        else if (!ports.some((p) => p.port === backend.port?.number || (backend.port?.name !== undefined && p.name === backend.port.name))) {
          push(ingress, 'K8S-REL-01', `backend service ${backend.name} has no port ${backend.port?.number ?? backend.port?.name}; fix the port`);
        }
      }
    }
    if (spec.ingressClassName !== 'nginx') push(ingress, 'K8S-SVC-02', `ingressClassName is ${spec.ingressClassName ?? '(none)'}; use nginx`);
  }
  return violations;
}
