/**
 * The namespace of the build pods, their ServiceAccounts, and what the Jenkins controller may do
 * there (the only namespace where it may: the kubernetes plugin starts, watches and execs into
 * pods). Pod Security `baseline`, a declared K8S-SEC-11 exception: Kaniko runs as root.
 */
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { policyExceptions } from '../../common/policy-exceptions';
import { BUILDS_NAMESPACE, DEPLOY_AGENT } from '../lib/delivery';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import type { NetworkPlan } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { DELIVERY_SYNC_WAVE } from '../lib/sync-waves';
import { JENKINS, KANIKO_AGENT, buildAgentName } from './names';

/** The Role (and its binding) that lets the controller run build pods in the namespace. */
export const AGENTS_ROLE = 'jenkins-agents';

export interface BuildsNamespaceProps {
  /** The apps (`apps`): each app's build pods run as its own ServiceAccount `kaniko-<app>`. */
  readonly apps: readonly string[];
  /** Every connection of the render, for the namespace's NetworkPolicies (the build pods' own come from Jenkins' registration). */
  readonly plan: NetworkPlan;
}

export class BuildsNamespace extends Construct {
  static readonly registration: ServiceRegistration = {
    name: BUILDS_NAMESPACE,
    namespace: BUILDS_NAMESPACE,
    // With Jenkins, whose build pods run here.
    syncWave: DELIVERY_SYNC_WAVE,
  };

  constructor(scope: Construct, id: string, props: BuildsNamespaceProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: BUILDS_NAMESPACE,
      podSecurity: 'baseline',
      exceptionReason: 'Kaniko build pods run as root with a writable root filesystem (never privileged, no host mounts)',
      workloads: [KANIKO_AGENT, DEPLOY_AGENT],
      plan: props.plan,
    });

    const serviceAccount = (id: string, name: string, automount: boolean) =>
      new k8s.KubeServiceAccount(this, id, {
        metadata: { name, namespace: BUILDS_NAMESPACE, labels: standardLabels(name, 'service-account') },
        automountServiceAccountToken: automount,
      });
    // One per app: each is bound to a Vault role that reads that app's push robot only.
    for (const app of props.apps) serviceAccount(`${app}-build-service-account`, buildAgentName(app), false);
    // Reads the apps' Deployments (Roles in their namespaces) to wait for a rollout.
    serviceAccount('deploy-agent-service-account', DEPLOY_AGENT.name, true);

    new k8s.KubeRole(this, 'agents-role', {
      metadata: {
        name: AGENTS_ROLE,
        namespace: BUILDS_NAMESPACE,
        labels: standardLabels(AGENTS_ROLE, 'rbac'),
        annotations: policyExceptions({
          'K8S-RBAC-02': 'the kubernetes plugin runs pipeline steps in the build containers through pods/exec, in the builds namespace only',
        }),
      },
      // The kubernetes plugin's documented minimum (src/main/kubernetes/service-account.yml),
      // narrowed: exec only creates (and upgrades with get), no secrets.
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'agents-role-binding', {
      metadata: { name: AGENTS_ROLE, namespace: BUILDS_NAMESPACE, labels: standardLabels(AGENTS_ROLE, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: AGENTS_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: JENKINS.name, namespace: JENKINS.namespace }],
    });
  }
}
