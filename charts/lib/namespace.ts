/**
 * A namespace as the platform renders it: Pod Security Admission labels (enforce, audit and
 * warn at one level), then its network isolation (default deny plus the declared connections).
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { standardLabels } from './labels';
import { NamespacePolicies, type NetworkPlan, type Workload } from './network';
import { meshNamespaceAnnotations, NamespaceMeshPolicies } from './mesh-policy';
import { policyExceptions } from '../../common/policy-exceptions';

export type PodSecurityLevel = 'restricted' | 'baseline' | 'privileged';

export interface PlatformNamespaceProps {
  readonly name: string;
  /**
   * The Pod Security Standard enforced (and audited and warned about).
   * Anything but `restricted` needs `exceptionReason`. @default 'restricted'
   */
  readonly podSecurity?: PodSecurityLevel;
  /** Why the namespace cannot be `restricted` (POLICY-RULES section 3); required for baseline or privileged. */
  readonly exceptionReason?: string;
  /** The workloads that run in the namespace, for their NetworkPolicies. */
  readonly workloads: readonly Workload[];
  readonly plan: NetworkPlan;
}

/** No `annotations` key at all when there are none (keeps the render without them unchanged). */
const annotationsOf = (annotations: Record<string, string>) => (Object.keys(annotations).length ? { annotations } : {});

export class PlatformNamespace extends Construct {
  readonly name: string;
  readonly podSecurity: PodSecurityLevel;

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    this.podSecurity = props.podSecurity ?? 'restricted';
    if (this.podSecurity !== 'restricted' && !props.exceptionReason) {
      throw new Error(`namespace ${props.name}: pod security "${this.podSecurity}" needs an exceptionReason (see POLICY-RULES section 3)`);
    }
    if (this.podSecurity === 'restricted' && props.exceptionReason) {
      throw new Error(`namespace ${props.name}: an exceptionReason is given but the namespace is restricted; remove it`);
    }

    new ApiObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: props.name,
        labels: {
          ...standardLabels(props.name, 'namespace'),
          'pod-security.kubernetes.io/enforce': this.podSecurity,
          'pod-security.kubernetes.io/audit': this.podSecurity,
          'pod-security.kubernetes.io/warn': this.podSecurity,
        },
        ...annotationsOf({ ...(props.exceptionReason ? policyExceptions({ 'K8S-SEC-11': props.exceptionReason }) : {}), ...meshNamespaceAnnotations(props.plan, props.name) }),
      },
    });

    new NamespacePolicies(this, 'policies', { namespace: props.name, workloads: props.workloads, plan: props.plan });
    new NamespaceMeshPolicies(this, 'mesh-policies', { namespace: props.name, workloads: props.workloads, plan: props.plan });
  }
}
