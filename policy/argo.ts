/** Argo CD projects and applications (POLICY-RULES.md 2.6). */
import type { KubeObject } from '../charts/lib/service';
import { refOf, type PolicyInput, type Violation } from './types';

interface ProjectSpec {
  sourceRepos?: string[];
  sourceNamespaces?: string[];
  destinations?: { server?: string; name?: string; namespace?: string }[];
  clusterResourceWhitelist?: { group: string; kind: string }[];
  namespaceResourceBlacklist?: { group: string; kind: string }[];
}

const ARGOCD_NAMESPACE = 'argocd';

export function argoRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const push = (object: KubeObject, rule: string, message: string) => violations.push({ rule, ref: refOf(object), message });
  const projects = input.objects.map(({ object }) => object).filter((o) => o.kind === 'AppProject');
  const applications = input.objects.map(({ object }) => object).filter((o) => o.kind === 'Application');

  const locked = projects.find((p) => p.metadata.name === 'default');
  if (!locked) {
    violations.push({ rule: 'ARGO-01', ref: 'AppProject/argocd/default', message: 'the default AppProject is not rendered; render it locked so it cannot deploy anything' });
  } else {
    const spec = locked.spec as ProjectSpec;
    const lockedDown =
      Array.isArray(spec.sourceRepos) && spec.sourceRepos.length === 0 &&
      Array.isArray(spec.sourceNamespaces) && spec.sourceNamespaces.length === 0 &&
      Array.isArray(spec.destinations) && spec.destinations.length === 0 &&
      (spec.namespaceResourceBlacklist ?? []).some((r) => r.group === '*' && r.kind === '*') &&
      !(spec.clusterResourceWhitelist ?? []).length;
    if (!lockedDown) {
      push(locked, 'ARGO-01', 'is not locked; set sourceRepos: [], sourceNamespaces: [], destinations: [] and namespaceResourceBlacklist: [{group: "*", kind: "*"}]');
    }
  }
  for (const app of applications) {
    if ((app.spec as { project?: string }).project === 'default') push(app, 'ARGO-01', 'uses the default project; put it in a dedicated AppProject');
    const project = projects.find((p) => p.metadata.name === (app.spec as { project?: string }).project);
    if (!project) push(app, 'ARGO-03', `its project ${(app.spec as { project?: string }).project} is not rendered; render the AppProject`);
  }

  // The same project may be rendered twice (bootstrap/ and the argocd folder): count names.
  const privileged = new Set(
    projects.filter((p) => ((p.spec as ProjectSpec).destinations ?? []).some((d) => d.namespace === ARGOCD_NAMESPACE)).map((p) => p.metadata.name),
  );
  if (privileged.size > 1) {
    for (const p of projects.filter((p) => privileged.has(p.metadata.name))) {
      push(p, 'ARGO-05', `projects ${[...privileged].sort().join(', ')} may all deploy into ${ARGOCD_NAMESPACE}; only the one that manages Argo CD may`);
    }
  }

  for (const project of projects) {
    if (project.metadata.name === 'default') continue;
    const spec = project.spec as ProjectSpec;
    if (!spec.sourceRepos?.length) push(project, 'ARGO-02', 'has no sourceRepos; list the exact repositories it may use');
    for (const repo of spec.sourceRepos ?? []) {
      if (repo.includes('*')) push(project, 'ARGO-02', `sourceRepos has "${repo}"; list exact repository URLs`);
    }
    for (const destination of spec.destinations ?? []) {
      if ([destination.server, destination.name, destination.namespace].some((v) => v?.includes('*'))) {
        push(project, 'ARGO-03', `destination ${JSON.stringify(destination)} uses a wildcard; list exact namespaces on https://kubernetes.default.svc`);
      }
      if (!destination.namespace) push(project, 'ARGO-03', `destination ${JSON.stringify(destination)} has no namespace; name it`);
    }
    for (const kind of spec.clusterResourceWhitelist ?? []) {
      if (kind.group === '*' || kind.kind === '*') push(project, 'ARGO-04', `clusterResourceWhitelist has ${kind.group}/${kind.kind}; list the exact cluster-scoped kinds`);
    }
    for (const ns of spec.sourceNamespaces ?? []) {
      push(project, 'ARGO-05', `sourceNamespaces lists ${ns}; Applications live only in ${ARGOCD_NAMESPACE}`);
    }
  }
  return violations;
}
