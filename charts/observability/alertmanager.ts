/**
 * Alertmanager, rendered as plain YAML: one replica (no gossip cluster) in a StatefulSet whose
 * `ceph-rbd` volume keeps silences and the notification log, routes and receivers from the model
 * (`observability.alerting`), receiver credentials from Vault as files, grouping and inhibition.
 *
 * @see https://prometheus.io/docs/alerting/latest/configuration/
 */
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import { HEARTBEAT_RECEIVER, type Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { ALERTMANAGER_GIB } from '../../config/capacity';
import { STORAGE_CLASS } from '../lib/placement';
import { resources } from '../lib/kinds';
import { INTERNET, dnsAccess, scrapedBy, type Connection } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { rawValueSecret, secretFile, vaultAgentPodFor, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { WorkloadStatefulSet, WorkloadVolume } from '../lib/workload';
import { WATCHDOG } from '../lib/rule-group';
import { ALERTMANAGER, MONITORING_NAMESPACE } from './workloads';

/** The model's alerting section (`observability.alerting`): routes, receivers, SMTP, heartbeat. */
export type AlertingModel = Platform['observability']['alerting'];

const NAME = ALERTMANAGER.name;
const UID = 65534;
const CONFIG_DIR = '/etc/alertmanager';
const DATA_DIR = '/alertmanager';
/** Silences and the notification log are small. */
const STORAGE = `${ALERTMANAGER_GIB}Gi`;

/**
 * The Vault secrets Alertmanager reads: the SMTP password, one per webhook-style integration, and
 * the heartbeat's ping URL (a capability URL: whoever has it can keep the dead-man's switch quiet).
 */
export function alertmanagerSecrets(alerting: AlertingModel): { smtp?: VaultSecret; heartbeat: VaultSecret; byReceiver: Map<string, { slack?: VaultSecret; pagerduty?: VaultSecret }> } {
  const byReceiver = new Map<string, { slack?: VaultSecret; pagerduty?: VaultSecret }>();
  for (const [name, receiver] of Object.entries(alerting.receivers)) {
    byReceiver.set(name, {
      ...(receiver.slack ? { slack: rawValueSecret(NAME, `${name}-slack`, 'url') } : {}),
      ...(receiver.pagerduty ? { pagerduty: rawValueSecret(NAME, `${name}-pagerduty`, 'routing_key') } : {}),
    });
  }
  const smtp = alerting.smtp && Object.values(alerting.receivers).some((r) => r.email) ? rawValueSecret(NAME, 'smtp', 'password') : undefined;
  return { smtp, heartbeat: rawValueSecret(NAME, HEARTBEAT_RECEIVER, 'url'), byReceiver };
}

export function alertmanagerConsumer(alerting: AlertingModel): SecretConsumer {
  const { smtp, heartbeat, byReceiver } = alertmanagerSecrets(alerting);
  return {
    name: NAME,
    namespace: MONITORING_NAMESPACE,
    serviceAccount: NAME,
    secrets: [...(smtp ? [smtp] : []), heartbeat, ...[...byReceiver.values()].flatMap((s) => [s.slack, s.pagerduty].filter((x): x is VaultSecret => !!x))],
  };
}

const matcher = (label: string, value: string) => `${label}=${JSON.stringify(value)}`;

/** alertmanager.yml from the model. */
export function alertmanagerConfig(alerting: AlertingModel): Record<string, unknown> {
  const { smtp, heartbeat, byReceiver } = alertmanagerSecrets(alerting);
  return {
    global: {
      resolve_timeout: '5m',
      ...(alerting.smtp && smtp
        ? {
            smtp_smarthost: alerting.smtp.smarthost,
            smtp_from: alerting.smtp.from,
            smtp_auth_username: alerting.smtp.username,
            smtp_auth_password_file: secretFile(smtp),
            smtp_require_tls: true,
          }
        : {}),
    },
    route: {
      receiver: alerting.defaultReceiver,
      // One notification per alert and namespace; a burst of the same alert arrives together.
      group_by: ['alertname', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        // First and without `continue`: the Watchdog reaches the heartbeat and nothing else, re-sent
        // every interval (Alertmanager re-checks a group each group_interval, so keep that short).
        {
          receiver: HEARTBEAT_RECEIVER,
          matchers: [matcher('alertname', WATCHDOG)],
          group_wait: '0s',
          group_interval: '1m',
          repeat_interval: alerting.heartbeat.interval,
        },
        ...alerting.routes.map((route) => ({
        receiver: route.receiver,
        matchers: Object.entries(route.matchers).map(([label, value]) => matcher(label, value)),
        ...(route.continue ? { continue: true } : {}),
        })),
        // An alert that matched a child route, even one with `continue`, never falls back to the
        // parent's receiver: Alertmanager uses the parent only when no child matched
        // (https://prometheus.io/docs/alerting/latest/configuration/#route). A model route with
        // `continue` means "also tell them", so the default receiver closes the list as a
        // catch-all; without it, critical alerts reached the chat and never the mailbox.
        ...(alerting.routes.some((route) => route.continue) ? [{ receiver: alerting.defaultReceiver }] : []),
      ],
    },
    receivers: [
      // webhook_configs.url_file: Alertmanager >= 0.26 (prometheus/alertmanager v0.32.0, config/notifiers.go, WebhookConfig).
      { name: HEARTBEAT_RECEIVER, webhook_configs: [{ url_file: secretFile(heartbeat), send_resolved: false }] },
      ...Object.entries(alerting.receivers).map(([name, receiver]) => {
      const secrets = byReceiver.get(name)!;
      return {
        name,
        ...(receiver.email ? { email_configs: [{ to: receiver.email.to, send_resolved: true }] } : {}),
        ...(receiver.slack && secrets.slack
          ? {
              slack_configs: [
                {
                  api_url_file: secretFile(secrets.slack),
                  channel: receiver.slack.channel,
                  send_resolved: true,
                  title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
                  text: '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}',
                },
              ],
            }
          : {}),
        ...(receiver.pagerduty && secrets.pagerduty
          ? {
              pagerduty_configs: [
                {
                  routing_key_file: secretFile(secrets.pagerduty),
                  send_resolved: true,
                  ...(receiver.pagerduty.description ? { description: receiver.pagerduty.description } : {}),
                },
              ],
            }
          : {}),
      };
    }),
    ],
    inhibit_rules: [
      // A critical alert silences the warning of the same name in the same namespace.
      { source_matchers: [matcher('severity', 'critical')], target_matchers: [matcher('severity', 'warning')], equal: ['alertname', 'namespace'] },
      // A node that is down explains everything else on it.
      { source_matchers: [matcher('alertname', 'NodeDown')], target_matchers: ['alertname!="NodeDown"'], equal: ['node'] },
      // A sealed Vault answers no metrics scrape either.
      { source_matchers: [matcher('alertname', 'VaultSealed')], target_matchers: [matcher('alertname', 'TargetDown'), matcher('job', 'vault')] },
    ],
  };
}

/** `host:port` -> port of the SMTP submission server. */
function smtpPort(alerting: AlertingModel): number | undefined {
  const smarthost = alerting.smtp?.smarthost;
  return smarthost ? Number(smarthost.split(':').pop()) : undefined;
}

/** What Alertmanager reads of the model. */
export interface AlertmanagerProps {
  /** The node it runs on (`services.alertmanager.node`; its volume follows it). */
  readonly node: string;
  /** Routes, receivers, SMTP and heartbeat (`observability.alerting`). */
  readonly alerting: AlertingModel;
  /** The name Vault's certificate is issued for, which the Vault agent verifies. */
  readonly vaultTlsServerName: string;
}

/** The internet ports its receivers use: 443 always (the heartbeat's https ping), SMTP's when mail is sent. */
export function alertmanagerConnections(alerting: AlertingModel): Connection[] {
  const receivers = Object.values(alerting.receivers);
  const port = smtpPort(alerting);
  const outbound = [{ port: 443 }, ...(port !== undefined && receivers.some((r) => r.email) ? [{ port }] : [])];
  return [
    dnsAccess(ALERTMANAGER),
    scrapedBy(ALERTMANAGER, 'http'),
    { from: { workload: ALERTMANAGER }, to: { network: INTERNET }, ports: outbound, purpose: 'notifications (SMTP, chat and paging webhooks, the heartbeat)' },
  ];
}

/** Alertmanager: one replica in a StatefulSet whose volume keeps silences and the notification log. */
export class Alertmanager extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'alertmanager',
    namespace: MONITORING_NAMESPACE,
    syncWave: 4,
    connections: (platform) => alertmanagerConnections(platform.observability.alerting),
    secretConsumers: (platform) => [alertmanagerConsumer(platform.observability.alerting)],
  };

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id);
    new WorkloadStatefulSet(this, 'alertmanager', {
      workload: ALERTMANAGER,
      component: 'alerting',
      image: IMAGES.alertmanager,
      identity: { uid: UID, fsGroup: UID },
      node: props.node,
      vaultAgent: vaultAgentPodFor(alertmanagerConsumer(props.alerting), props.vaultTlsServerName),
      args: [
        `--config.file=${CONFIG_DIR}/alertmanager.yml`,
        `--storage.path=${DATA_DIR}`,
        `--web.listen-address=:${ALERTMANAGER.ports!.http}`,
        // A single replica: no gossip listener.
        '--cluster.listen-address=',
      ],
      readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, periodSeconds: 15, failureThreshold: 6 },
      resources: resources('25m', '64Mi', '500m', '256Mi'),
      volumes: [
        WorkloadVolume.configFiles('config', { 'alertmanager.yml': toYaml(alertmanagerConfig(props.alerting)) }, [{ mountPath: CONFIG_DIR }]),
        WorkloadVolume.dataClaim('data', DATA_DIR, { storage: STORAGE, storageClassName: STORAGE_CLASS }),
      ],
    });
  }
}
