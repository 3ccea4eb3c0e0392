/**
 * Grafana, rendered as plain YAML: stateless (everything it shows is provisioned from code:
 * the Prometheus and Loki datasources and the dashboards of `dashboards/`), the admin password
 * from Vault (read through `$__file{}`), behind a TLS Ingress on `services.grafana.host`.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/
 */
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { TlsIngress } from '../lib/ingress';
import { connect, dnsAccess, exposedThroughIngress, scrapedBy } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { rawValueSecret, secretFile, vaultAgentPodFor, type SecretConsumer } from '../lib/vault';
import { WorkloadDeployment, WorkloadVolume } from '../lib/workload';
import { LOKI_UID, PROMETHEUS_UID } from './dashboards/builder';
import { platformDashboards } from './dashboards';
import { GRAFANA, LOKI, MONITORING_NAMESPACE, serviceUrl } from './workloads';
import { PROMETHEUS_SERVER } from '../lib/prometheus';

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

/** Grafana's public host (`services.grafana.host`), which the model must set. */
export function grafanaHost(platform: Platform): string {
  const host = platform.services.grafana.host;
  if (!host) throw new Error('services.grafana.host: (missing): Grafana needs a public host for its UI, e.g. "grafana.example.com"');
  return host;
}

/** grafana.ini: the public URL, the admin from Vault, no sign-up, no phoning home. */
export function grafanaIni(host: string): string {
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

/** The provisioned datasources; `scrapeInterval` is Prometheus' (its smallest useful step). */
export function grafanaDatasources(scrapeInterval: string): Record<string, unknown> {
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
        jsonData: { timeInterval: scrapeInterval, httpMethod: 'POST' },
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

/** What Grafana reads of the model. */
export interface GrafanaProps {
  /** Its public host (`services.grafana.host`), served with TLS. */
  readonly host: string;
  /** The node it runs on (`services.grafana.node`). */
  readonly node: string;
  /** Prometheus' scrape interval (`observability.scrapeInterval`), the datasource's minimum step. */
  readonly scrapeInterval: string;
  /** The cert-manager ClusterIssuer of its certificate. */
  readonly issuer: string;
  /** The name Vault's certificate is issued for, which the Vault agent verifies. */
  readonly vaultTlsServerName: string;
  /** Provision the service mesh dashboard (`serviceMesh.enabled`). @default false */
  readonly serviceMesh?: boolean;
}

/** Grafana: a stateless Deployment with provisioned datasources and dashboards, behind a TLS Ingress. */
export class Grafana extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'grafana',
    namespace: MONITORING_NAMESPACE,
    syncWave: 4,
    connections: () => [
      dnsAccess(GRAFANA),
      exposedThroughIngress(GRAFANA, 'http'),
      scrapedBy(GRAFANA, 'http'),
      connect({ workload: GRAFANA }, PROMETHEUS_SERVER, ['http'], 'Prometheus datasource'),
      connect({ workload: GRAFANA }, LOKI, ['http'], 'Loki datasource'),
    ],
    secretConsumers: () => [grafanaConsumer()],
  };

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    const config = {
      'grafana.ini': grafanaIni(props.host),
      'datasources.yaml': toYaml(grafanaDatasources(props.scrapeInterval)),
      'dashboards.yaml': toYaml(DASHBOARD_PROVIDERS),
    };
    const dashboards = Object.fromEntries(Object.entries(platformDashboards(props.serviceMesh ?? false)).map(([name, json]) => [`${name}.json`, `${JSON.stringify(json, null, 2)}\n`]));
    new WorkloadDeployment(this, 'grafana', {
      workload: GRAFANA,
      component: 'dashboards',
      image: IMAGES.grafana,
      identity: { uid: UID, fsGroup: UID },
      node: props.node,
      vaultAgent: vaultAgentPodFor(grafanaConsumer(), props.vaultTlsServerName),
      env: [{ name: 'GF_PATHS_CONFIG', value: '/etc/grafana/grafana.ini' }],
      readinessProbe: { httpGet: { path: '/api/health', port: 'http' }, periodSeconds: 10 },
      livenessProbe: { tcpPort: 'http', initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
      resources: resources('50m', '128Mi', '1', '512Mi'),
      volumes: [
        WorkloadVolume.configFiles('config', config, [
          { mountPath: '/etc/grafana/grafana.ini', subPath: 'grafana.ini' },
          { mountPath: `${PROVISIONING_DIR}/datasources/datasources.yaml`, subPath: 'datasources.yaml' },
          { mountPath: `${PROVISIONING_DIR}/dashboards/dashboards.yaml`, subPath: 'dashboards.yaml' },
        ]),
        WorkloadVolume.configFiles('dashboards', dashboards, [{ mountPath: DASHBOARDS_DIR }]),
        WorkloadVolume.emptyDir('data', DATA_DIR, '1Gi'),
        WorkloadVolume.emptyDir('tmp', '/tmp', '256Mi'),
      ],
    });
    new TlsIngress(this, 'ingress', {
      name: NAME,
      namespace: MONITORING_NAMESPACE,
      host: props.host,
      serviceName: NAME,
      servicePort: GRAFANA.ports!.http,
      issuer: props.issuer,
    });
  }
}
