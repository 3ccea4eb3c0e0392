/**
 * Alertmanager, rendered as plain YAML: one replica (no gossip cluster) in a StatefulSet whose
 * `ceph-rbd` volume keeps silences and the notification log, routes and receivers from the model
 * (`observability.alerting`), receiver credentials from Vault as files, grouping and inhibition.
 *
 * @see https://prometheus.io/docs/alerting/latest/configuration/
 */
import { ApiObject, type Chart } from 'cdk8s';
import { toYaml } from '../../common/yaml';
import { HEARTBEAT_RECEIVER, type Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { ALERTMANAGER_GIB } from '../../config/capacity';
import { standardLabels } from '../lib/labels';
import { INTERNET, dnsAccess, scrapedBy, type Connection } from '../lib/network';
import { STORAGE_CLASS, nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import type { SecretConsumer, VaultSecret } from '../lib/vault';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  RESTRICTED_CONTAINER_SECURITY,
  configChecksum,
  configMap,
  containerPorts,
  podLabels,
  resources,
  restrictedPodSecurity,
  selectorOf,
  serviceAccount,
  workloadService,
} from './pod';
import { rawValueSecret, secretFile, vaultAgentPod } from './vault-agent';
import { WATCHDOG } from './rules/rule-group';
import { ALERTMANAGER, MONITORING_NAMESPACE } from './workloads';

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
export function alertmanagerSecrets(platform: Platform): { smtp?: VaultSecret; heartbeat: VaultSecret; byReceiver: Map<string, { slack?: VaultSecret; pagerduty?: VaultSecret }> } {
  const { alerting } = platform.observability;
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

export function alertmanagerConsumer(platform: Platform): SecretConsumer {
  const { smtp, heartbeat, byReceiver } = alertmanagerSecrets(platform);
  return {
    name: NAME,
    namespace: MONITORING_NAMESPACE,
    serviceAccount: NAME,
    secrets: [...(smtp ? [smtp] : []), heartbeat, ...[...byReceiver.values()].flatMap((s) => [s.slack, s.pagerduty].filter((x): x is VaultSecret => !!x))],
  };
}

const matcher = (label: string, value: string) => `${label}=${JSON.stringify(value)}`;

/** alertmanager.yml from the model. */
export function alertmanagerConfig(platform: Platform): Record<string, unknown> {
  const { alerting } = platform.observability;
  const { smtp, heartbeat, byReceiver } = alertmanagerSecrets(platform);
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
function smtpPort(platform: Platform): number | undefined {
  const smarthost = platform.observability.alerting.smtp?.smarthost;
  return smarthost ? Number(smarthost.split(':').pop()) : undefined;
}

export const alertmanager: ServiceDefinition = {
  name: 'alertmanager',
  namespace: MONITORING_NAMESPACE,
  syncWave: 4,
  connections: (platform: Platform): Connection[] => {
    const receivers = Object.values(platform.observability.alerting.receivers);
    const port = smtpPort(platform);
    const outbound = [
      // 443 always: the heartbeat's https ping.
      { port: 443 },
      ...(port !== undefined && receivers.some((r) => r.email) ? [{ port }] : []),
    ];
    return [
      dnsAccess(ALERTMANAGER),
        scrapedBy(ALERTMANAGER, 'http'),
      ...(outbound.length ? [{ from: { workload: ALERTMANAGER }, to: { network: INTERNET }, ports: outbound, purpose: 'notifications (SMTP, chat and paging webhooks, the heartbeat)' }] : []),
    ];
  },
  secretConsumers: (platform: Platform) => [alertmanagerConsumer(platform)],
  build(chart: Chart, platform: Platform) {
    const ns = MONITORING_NAMESPACE;
    const config = { 'alertmanager.yml': toYaml(alertmanagerConfig(platform)) };
    const agent = vaultAgentPod(alertmanagerConsumer(platform), platform);
    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: false });
    configMap(chart, 'config', { name: `${NAME}-config`, namespace: ns, data: config });
    workloadService(chart, 'service', ALERTMANAGER, ['http'], { headless: true });
    new ApiObject(chart, 'statefulset', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: NAME, namespace: ns, labels: podLabels(ALERTMANAGER, 'alerting') },
      spec: {
        replicas: 1,
        serviceName: NAME,
        selector: selectorOf(ALERTMANAGER),
        template: {
          metadata: {
            labels: { ...podLabels(ALERTMANAGER, 'alerting'), ...agent.labels },
            annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(config), ...agent.annotations },
          },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: false,
            nodeSelector: nodeSelectorFor(platform, 'alertmanager'),
            securityContext: restrictedPodSecurity(UID, { fsGroup: UID }),
            containers: [
              {
                name: 'alertmanager',
                image: IMAGES.alertmanager,
                args: [
                  `--config.file=${CONFIG_DIR}/alertmanager.yml`,
                  `--storage.path=${DATA_DIR}`,
                  `--web.listen-address=:${ALERTMANAGER.ports!.http}`,
                  // A single replica: no gossip listener.
                  '--cluster.listen-address=',
                ],
                ports: containerPorts(ALERTMANAGER, ['http']),
                readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, periodSeconds: 15, failureThreshold: 6 },
                resources: resources('25m', '64Mi', '500m', '256Mi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'data', mountPath: DATA_DIR },
                ],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: `${NAME}-config` } }, agent.volume],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: standardLabels(NAME, 'storage') },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: STORAGE } } },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
  },
};
