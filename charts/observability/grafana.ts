/**
 * Grafana, rendered as plain YAML: stateless (everything it shows is provisioned from code:
 * the Prometheus and Loki datasources and the dashboards of `dashboards/`), the admin password
 * from Vault (read through `$__file{}`), behind a TLS Ingress on `services.grafana.host`.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/
 */
import { ApiObject, type Chart } from 'cdk8s';
import { toYaml } from '../../common/yaml';
import { PLATFORM_ENV, type Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { TlsIngress, issuerFor } from '../lib/ingress';
import { connect, dnsAccess, exposedThroughIngress, scrapedBy, type Connection } from '../lib/network';
import { nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import type { SecretConsumer } from '../lib/vault';
import { LOKI_UID, PROMETHEUS_UID } from './dashboards/builder';
import { platformDashboards } from './dashboards';
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
import { GRAFANA, LOKI, MONITORING_NAMESPACE, PROMETHEUS_SERVER, serviceUrl } from './workloads';

const NAME = GRAFANA.name;
/** The `grafana` user of the upstream image. */
const UID = 472;
const DATA_DIR = '/var/lib/grafana';
const PROVISIONING_DIR = '/etc/grafana/provisioning';
const DASHBOARDS_DIR = '/var/lib/grafana-dashboards';
/** The admin login's password (Vault: secret/grafana/admin, key `password`). */
export const ADMIN_SECRET = rawValueSecret(NAME, 'admin', 'password');

export function grafanaConsumer(): SecretConsumer {
  return { name: NAME, namespace: MONITORING_NAMESPACE, serviceAccount: NAME, secrets: [ADMIN_SECRET] };
}

function hostOf(platform: Platform): string {
  const host = platform.services.grafana.host;
  if (!host) throw new Error('services.grafana.host: (missing): Grafana needs a public host for its UI, e.g. "grafana.example.com"');
  return host;
}

/** grafana.ini: the public URL, the admin from Vault, no sign-up, no phoning home. */
export function grafanaIni(platform: Platform): string {
  const host = hostOf(platform);
  const sections: [string, Record<string, string | number | boolean>][] = [
    ['server', { http_port: GRAFANA.ports!.http, domain: host, root_url: `https://${host}/`, enforce_domain: false }],
    ['paths', { data: DATA_DIR, provisioning: PROVISIONING_DIR }],
    // Stateless: a fresh SQLite database on every start (users come from the admin below).
    ['database', { type: 'sqlite3', path: `${DATA_DIR}/grafana.db` }],
    ['security', { admin_user: 'admin', admin_password: `$__file{${secretFile(ADMIN_SECRET)}}`, cookie_secure: true, disable_gravatar: true, disable_initial_admin_creation: false }],
    ['users', { allow_sign_up: false, allow_org_create: false }],
    ['auth.anonymous', { enabled: false }],
    ['analytics', { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false, feedback_links_enabled: false }],
    ['news', { news_feed_enabled: false }],
    ['plugins', { plugin_admin_enabled: false }],
    ['log', { mode: 'console' }],
    ['metrics', { enabled: true }],
  ];
  return sections.map(([name, values]) => `[${name}]\n${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`).join('\n');
}

export function grafanaDatasources(platform: Platform): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        type: 'prometheus',
        uid: PROMETHEUS_UID,
        access: 'proxy',
        url: serviceUrl(PROMETHEUS_SERVER, 'http'),
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: platform.observability.scrapeInterval, httpMethod: 'POST' },
      },
      { name: 'Loki', type: 'loki', uid: LOKI_UID, access: 'proxy', url: serviceUrl(LOKI, 'http'), editable: false, jsonData: { maxLines: 1000 } },
    ],
  };
}

const DASHBOARD_PROVIDERS = {
  apiVersion: 1,
  providers: [
    {
      name: 'platform',
      folder: 'Platform',
      type: 'file',
      disableDeletion: true,
      allowUiUpdates: false,
      updateIntervalSeconds: 60,
      options: { path: DASHBOARDS_DIR },
    },
  ],
};

export const grafana: ServiceDefinition = {
  name: 'grafana',
  namespace: MONITORING_NAMESPACE,
  syncWave: 4,
  connections: (): Connection[] => [
    dnsAccess(GRAFANA),
    exposedThroughIngress(GRAFANA, 'http'),
    scrapedBy(GRAFANA, 'http'),
    connect({ workload: GRAFANA }, PROMETHEUS_SERVER, ['http'], 'Prometheus datasource'),
    connect({ workload: GRAFANA }, LOKI, ['http'], 'Loki datasource'),
  ],
  secretConsumers: () => [grafanaConsumer()],
  build(chart: Chart, platform: Platform) {
    const ns = MONITORING_NAMESPACE;
    const config = {
      'grafana.ini': grafanaIni(platform),
      'datasources.yaml': toYaml(grafanaDatasources(platform)),
      'dashboards.yaml': toYaml(DASHBOARD_PROVIDERS),
    };
    const dashboards = Object.fromEntries(Object.entries(platformDashboards()).map(([name, json]) => [`${name}.json`, `${JSON.stringify(json, null, 2)}\n`]));
    const agent = vaultAgentPod(grafanaConsumer(), platform);

    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: false });
    configMap(chart, 'config', { name: `${NAME}-config`, namespace: ns, data: config });
    configMap(chart, 'dashboards', { name: `${NAME}-dashboards`, namespace: ns, data: dashboards });
    workloadService(chart, 'service', GRAFANA, ['http']);
    new ApiObject(chart, 'deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: ns, labels: podLabels(GRAFANA, 'dashboards') },
      spec: {
        replicas: 1,
        selector: selectorOf(GRAFANA),
        template: {
          metadata: {
            labels: { ...podLabels(GRAFANA, 'dashboards'), ...agent.labels },
            annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum({ ...config, ...dashboards }), ...agent.annotations },
          },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: false,
            nodeSelector: nodeSelectorFor(platform, 'grafana'),
            securityContext: restrictedPodSecurity(UID, { fsGroup: UID }),
            containers: [
              {
                name: 'grafana',
                image: IMAGES.grafana,
                env: [{ name: 'GF_PATHS_CONFIG', value: '/etc/grafana/grafana.ini' }],
                ports: containerPorts(GRAFANA, ['http']),
                readinessProbe: { httpGet: { path: '/api/health', port: 'http' }, periodSeconds: 10 },
                livenessProbe: { tcpSocket: { port: 'http' }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
                resources: resources('50m', '128Mi', '1', '512Mi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/grafana/grafana.ini', subPath: 'grafana.ini', readOnly: true },
                  { name: 'config', mountPath: `${PROVISIONING_DIR}/datasources/datasources.yaml`, subPath: 'datasources.yaml', readOnly: true },
                  { name: 'config', mountPath: `${PROVISIONING_DIR}/dashboards/dashboards.yaml`, subPath: 'dashboards.yaml', readOnly: true },
                  { name: 'dashboards', mountPath: DASHBOARDS_DIR, readOnly: true },
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${NAME}-config` } },
              { name: 'dashboards', configMap: { name: `${NAME}-dashboards` } },
              { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
              agent.volume,
            ],
          },
        },
      },
    });
    new TlsIngress(chart, 'ingress', {
      name: NAME,
      namespace: ns,
      host: hostOf(platform),
      serviceName: NAME,
      servicePort: GRAFANA.ports!.http,
      issuer: issuerFor(platform, PLATFORM_ENV),
    });
  },
};
