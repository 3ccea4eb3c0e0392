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
import { policyExceptions } from '../../common/policy-exceptions';
import { INJECT_ANNOTATION, isMeshedInPlan, proxyBypassAnnotations } from './service-mesh';

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
  /**
   * Every connection of the render; when it meshes workloads (`plan.serviceMesh`) and the namespace
   * is not in UNMESHED_NAMESPACES, the namespace asks Linkerd's injector for a proxy in every pod.
   */
  readonly plan: NetworkPlan;
  /** Labels an installed component looks for on its namespace (Linkerd's control plane). @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Annotations an installed component looks for on its namespace. @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

export class PlatformNamespace extends Construct {
  readonly name: string;
  readonly podSecurity: PodSecurityLevel;
  /** Its pods get a Linkerd proxy from the injector. */
  readonly meshed: boolean;

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

    this.meshed = isMeshedInPlan(props.plan, props.name);
    const annotations = {
      ...(props.exceptionReason ? policyExceptions({ 'K8S-SEC-11': props.exceptionReason }) : {}),
      ...props.annotations,
      ...(this.meshed ? { ...INJECT_ANNOTATION, ...proxyBypassAnnotations(props.plan, props.name) } : {}),
    };

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
          ...props.labels,
        },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
    });

    new NamespacePolicies(this, 'policies', { namespace: props.name, workloads: props.workloads, plan: props.plan });
  }
}
