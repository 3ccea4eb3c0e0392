/**
 * Coordinated reboots after OS security updates: unattended-upgrades on each node (README, "Bootstrap
 * the k3s nodes") installs them and writes /var/run/reboot-required when one needs a reboot (Debian's
 * /etc/kernel/postinst.d/unattended-upgrades); kured, from its official chart, reboots such a node:
 *  - one node at a time (its lock on the DaemonSet), cordoned and drained first, uncordoned after;
 *  - only inside the model's maintenance window (`maintenance`: days, start, end, time zone);
 *  - never while an alert is active in Prometheus, apart from the always-firing Watchdog;
 *  - never on a node where a k3s upgrade Job (charts/day-two/system-upgrade.ts) runs.
 *
 * kubereboot/charts, tag kured-6.1.0: charts/kured/values.yaml, templates/daemonset.yaml (every
 * `configuration.*` key becomes the flag of the same name; hostPID, the sentinel's directory
 * mounted read-only at /sentinel). kubereboot/kured 1.23.0: cmd/kured/main.go (flags and their
 * defaults), pkg/blockers/prometheus.go (active alerts block unless the filter matches them),
 * pkg/blockers/kubernetespod.go (blocking pods are looked for on the node itself),
 * pkg/timewindow (the days and time formats).
 *
 * @see https://kured.dev/docs/configuration/
 */
import { Construct } from 'constructs';
import type { MaintenanceWindow } from '../../config';
import { CHARTS } from '../../config/versions';
import type { KuredValues } from '../../imports/charts';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, resources } from '../lib/kinds';
import { PlatformNamespace } from '../lib/namespace';
import { NAME_LABEL, connect, dnsAccess, kubeApiAccess, portOf, scrapedBy, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import { PROMETHEUS_SERVER, prometheusUrl } from '../lib/prometheus';
import type { ServiceRegistration } from '../lib/service';
import { WATCHDOG } from '../lib/rule-group';
import { K3S_UPGRADE_JOB } from './system-upgrade';

export const KURED_NAMESPACE = 'kured';
/** The chart labels its pods `app.kubernetes.io/name: kured`; metrics on `configuration.metricsPort`. */
export const KURED: Workload = { namespace: KURED_NAMESPACE, name: 'kured', ports: { metrics: 8080 } };

/**
 * Alerts that never hold a reboot back: the Watchdog fires all the time by design (the dead-man's
 * switch), so without this filter kured would never reboot anything.
 */
export const ALERTS_IGNORED = [WATCHDOG] as const;

/** The chart's values: reboots only inside `window` (the model's `maintenance`). */
export function kuredValues(window: MaintenanceWindow) {
  return {
    configuration: {
      metricsPort: portOf(KURED, 'metrics'),
      concurrency: 1,
      rebootDays: [...window.days],
      startTime: window.start,
      endTime: window.end,
      timeZone: window.timeZone,
      // Checks every 10 minutes (default 1 h), so a short window is not missed.
      period: '10m',
      prometheusUrl: prometheusUrl(),
      alertFilterRegexp: `^(${ALERTS_IGNORED.join('|')})$`,
      // A node whose k3s is being replaced is not rebooted under the upgrade Job.
      blockingPodSelector: [`${NAME_LABEL}=${K3S_UPGRADE_JOB.name}`],
      // Drain respects PodDisruptionBudgets; a drain that cannot finish is abandoned (the node is
      // uncordoned, kured tries again next period) rather than forced (forceReboot stays false).
      drainTimeout: '15m',
      annotateNodes: true,
    },
    resources: resources('10m', '32Mi', '100m', '64Mi'),
  } satisfies KuredValues;
}

/** What kured's own objects read of the render: its chart renders the DaemonSet. */
export interface KuredProps {
  /** Every connection of the render, for the namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

/** kured from its chart (values from the model), in its own privileged namespace. */
export class Kured extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'kured',
    namespace: KURED_NAMESPACE,
    // After Prometheus (wave 3), whose alerts it asks before every reboot.
    syncWave: 4,
    helm: (platform) => ({
      ...CHARTS.kured,
      values: kuredValues(platform.maintenance),
      clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
    }),
    connections: (platform): Connection[] => [
      dnsAccess(KURED),
      ...kubeApiAccess(KURED, platform),
      // Without an answer kured treats the node as blocked, so Prometheus may come up later.
      { ...connect({ workload: KURED }, PROMETHEUS_SERVER, ['http'], 'active alerts before a reboot'), optionalAtStart: true },
      scrapedBy(KURED),
    ],
  };

  constructor(scope: Construct, id: string, props: KuredProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: KURED_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason:
        'kured reboots its node: a privileged container in the host PID namespace runs systemctl reboot through nsenter, and it reads /var/run/reboot-required from a read-only host mount',
      workloads: [KURED],
      plan: props.plan,
    });
  }
}
