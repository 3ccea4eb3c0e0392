/**
 * The `databases` namespace: Pod Security restricted, default deny, and one NetworkPolicy per
 * data workload (PostgreSQL, Redis) from every declared connection: each admits exactly the
 * clients that declare a connection to it (GitLab's and Harbor's workloads) and Prometheus.
 * Its own Application, one wave before the databases, so both StatefulSets find it.
 */
import type { Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { PlatformNamespace } from '../lib/namespace';
import type { NetworkPlan } from '../lib/network';
import type { ServiceDefinition } from '../lib/service';
import { DATABASES_NAMESPACE, POSTGRESQL, REDIS } from '../lib/data-endpoints';
import { NAMESPACE_SYNC_WAVE } from '../lib/sync-waves';

export const databases: ServiceDefinition = {
  name: 'databases',
  namespace: DATABASES_NAMESPACE,
  syncWave: NAMESPACE_SYNC_WAVE,
  build(chart: Chart, _platform: Platform, plan: NetworkPlan) {
    new PlatformNamespace(chart, 'namespace', { name: DATABASES_NAMESPACE, workloads: [POSTGRESQL, REDIS], plan });
  },
};
