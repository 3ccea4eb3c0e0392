/**
 * The `databases` namespace: Pod Security restricted, default deny, and one NetworkPolicy per
 * data workload (PostgreSQL, Redis) from every declared connection: each admits exactly the
 * clients that declare a connection to it (GitLab's and Harbor's workloads) and Prometheus.
 * Its own Application, one wave before the databases, so both StatefulSets find it.
 */
import { Construct } from 'constructs';
import { DATABASES_NAMESPACE, POSTGRESQL, REDIS } from '../lib/data-endpoints';
import { PlatformNamespace } from '../lib/namespace';
import type { NetworkPlan } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { NAMESPACE_SYNC_WAVE } from '../lib/sync-waves';

export interface DatabasesProps {
  /** Every connection of the render: the namespace's NetworkPolicies admit what it declares to PostgreSQL and Redis. */
  readonly plan: NetworkPlan;
}

/** The namespace PostgreSQL and Redis run in, and the NetworkPolicies of both. */
export class Databases extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'databases',
    namespace: DATABASES_NAMESPACE,
    syncWave: NAMESPACE_SYNC_WAVE,
  };

  constructor(scope: Construct, id: string, props: DatabasesProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: DATABASES_NAMESPACE, workloads: [POSTGRESQL, REDIS], plan: props.plan });
  }
}
