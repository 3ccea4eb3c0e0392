/**
 * Grafana, rendered as plain YAML: stateless (everything it shows is provisioned from code:
 * the Prometheus and Loki datasources and the dashboards of `dashboards/`), people sign in through
 * GitLab (generic OAuth, the role from their GitLab groups), the break-glass admin's password from
 * Vault (read through `$__file{}`), behind a TLS Ingress on `services.grafana.host`.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/
 * @see https://grafana.com/docs/grafana/latest/setup-grafana/configure-access/configure-authentication/generic-oauth/
 */
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { TlsIngress } from '../lib/ingress';
import { INGRESS_CONTROLLER, connect, dnsAccess, exposedThroughIngress, scrapedBy } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { rawValueSecret, secretFile, vaultAgentPodFor, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { WorkloadDeployment, WorkloadVolume } from '../lib/workload';
import { LOKI_UID, PROMETHEUS_UID } from './dashboards/builder';
import { platformDashboards } from './dashboards';
import { GRAFANA, LOKI, MONITORING_NAMESPACE, serviceUrl } from './workloads';
import { PROMETHEUS_SERVER } from '../lib/prometheus';
import { DELIVERY_SYNC_WAVE } from '../lib/sync-waves';
import {
  GITLAB_GROUPS_CLAIM,
  GITLAB_USERNAME_CLAIM,
  OIDC_CLIENT_ID_KEY,
  OIDC_CLIENT_KEYS,
  OIDC_CLIENT_SECRET_KEY,
  OIDC_SCOPES,
  gitlabEndpoints,
  oidcClientDataPath,
  type SsoGroups,
} from '../lib/sso';

const NAME = GRAFANA.name;
/** The `grafana` user of the upstream image. */
const UID = 472;
const DATA_DIR = '/var/lib/grafana';
const PROVISIONING_DIR = '/etc/grafana/provisioning';
const DASHBOARDS_DIR = '/var/lib/grafana-dashboards';
/** The break-glass admin login's password (Vault: secret/grafana/admin, key `password`). */
export const ADMIN_SECRET = rawValueSecret(NAME, 'admin', 'password');

/**
 * GitLab's OAuth application for Grafana (Vault: secret/sso/grafana), one file per key, as
 * `$__file{}` reads a whole file. GitLab issues both once it runs, so Grafana syncs after it.
 */
function ssoSecret(name: string, key: string): VaultSecret {
  const path = oidcClientDataPath('grafana');
  return {
    name,
    keys: OIDC_CLIENT_KEYS,
    path,
    template: `{{- with secret "${path}" -}}{{ index .Data.data "${key}" }}{{- end }}`,
    issuedBy: 'gitlab',
  };
}
export const SSO_CLIENT_ID_SECRET = ssoSecret('sso-client-id', OIDC_CLIENT_ID_KEY);
export const SSO_CLIENT_SECRET_SECRET = ssoSecret('sso-client-secret', OIDC_CLIENT_SECRET_KEY);

export function grafanaConsumer(): SecretConsumer {
  return { name: NAME, namespace: MONITORING_NAMESPACE, serviceAccount: NAME, secrets: [ADMIN_SECRET, SSO_CLIENT_ID_SECRET, SSO_CLIENT_SECRET_SECRET] };
}

/** Sign-in through GitLab: the issuer and the groups whose members get a role. */
export interface GrafanaSso {
  /** GitLab's issuer URL (`gitlabIssuer`). */
  readonly issuer: string;
  /** The GitLab groups mapped to Grafana's Admin and Viewer roles (`sso`). */
  readonly groups: SsoGroups;
}

/**
 * A JMESPath over the ID token's claims: Admin for the admin group, Viewer for the viewer group,
 * nothing otherwise, which `role_attribute_strict` turns into a refused sign-in.
 */
export function grafanaRolePath(groups: SsoGroups): string {
  return `contains(${GITLAB_GROUPS_CLAIM}[*], '${groups.admin}') && 'Admin' || contains(${GITLAB_GROUPS_CLAIM}[*], '${groups.viewer}') && 'Viewer'`;
}

/** Grafana's public host (`services.grafana.host`), which the model must set. */
export function grafanaHost(platform: Platform): string {
  const host = platform.services.grafana.host;
  if (!host) throw new Error('services.grafana.host: (missing): Grafana needs a public host for its UI, e.g. "grafana.example.com"');
  return host;
}

/**
 * grafana.ini: the public URL (GitLab returns the browser to `<root_url>login/generic_oauth`),
 * sign-in through GitLab, the break-glass admin from Vault, no self sign-up, no phoning home.
 */
export function grafanaIni(host: string, sso: GrafanaSso): string {
  const endpoints = gitlabEndpoints(sso.issuer);
  const sections: [string, Record<string, string | number | boolean>][] = [
    ['server', { http_port: GRAFANA.ports!.http, domain: host, root_url: `https://${host}/`, enforce_domain: false }],
    ['paths', { data: DATA_DIR, provisioning: PROVISIONING_DIR }],
    // Stateless: a fresh SQLite database on every start (users come from the admin below).
    ['database', { type: 'sqlite3', path: `${DATA_DIR}/grafana.db` }],
    ['security', { admin_user: 'admin', admin_password: `$__file{${secretFile(ADMIN_SECRET)}}`, cookie_secure: true, disable_gravatar: true, disable_initial_admin_creation: false }],
    ['users', { allow_sign_up: false, allow_org_create: false }],
    // The login form stays for the break-glass admin only: `auto_login` sends everyone to GitLab,
    // `/login?disableAutoLogin` shows the form (docs/decisions/0118-break-glass-accounts.md).
    // No basic auth on the API: the admin password opens the form, not scripts.
    ['auth', { disable_login_form: false }],
    ['auth.basic', { enabled: false }],
    ['auth.anonymous', { enabled: false }],
    [
      'auth.generic_oauth',
      {
        enabled: true,
        name: 'GitLab',
        auto_login: true,
        // A person in one of the groups gets a Grafana user at first sign-in; anyone else is refused.
        allow_sign_up: true,
        client_id: `$__file{${secretFile(SSO_CLIENT_ID_SECRET)}}`,
        client_secret: `$__file{${secretFile(SSO_CLIENT_SECRET_SECRET)}}`,
        scopes: OIDC_SCOPES.join(' '),
        auth_url: endpoints.authorization,
        token_url: endpoints.token,
        api_url: endpoints.userinfo,
        use_pkce: true,
        login_attribute_path: GITLAB_USERNAME_CLAIM,
        groups_attribute_path: GITLAB_GROUPS_CLAIM,
        allowed_groups: `${sso.groups.admin} ${sso.groups.viewer}`,
        role_attribute_path: grafanaRolePath(sso.groups),
        role_attribute_strict: true,
        // Grafana Admin (server-wide) stays with the break-glass admin.
        allow_assign_grafana_admin: false,
        skip_org_role_sync: false,
      },
    ],
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
  /** Sign-in through GitLab (`gitlabIssuer`, `sso`). */
  readonly sso: GrafanaSso;
  /** Provision the service mesh dashboard (`serviceMesh.enabled`). @default false */
  readonly serviceMesh?: boolean;
  /** Ceph's nearfull ratio (`ceph.nearfullRatio`), for the capacity panels. @default 0.85 - Ceph's default */
  readonly cephNearfullRatio?: number;
}

/** Grafana: a stateless Deployment with provisioned datasources and dashboards, behind a TLS Ingress. */
export class Grafana extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'grafana',
    namespace: MONITORING_NAMESPACE,
    // After GitLab: the pod starts only once GitLab's application for it is in Vault (decision 0117).
    syncWave: DELIVERY_SYNC_WAVE,
    connections: () => [
      dnsAccess(GRAFANA),
      exposedThroughIngress(GRAFANA, 'http'),
      scrapedBy(GRAFANA, 'http'),
      connect({ workload: GRAFANA }, PROMETHEUS_SERVER, ['http'], 'Prometheus datasource'),
      connect({ workload: GRAFANA }, LOKI, ['http'], 'Loki datasource'),
      // GitLab's token and userinfo endpoints, through the ingress controller (decision 0101).
      connect({ workload: GRAFANA }, INGRESS_CONTROLLER, ['https'], 'GitLab, the OIDC provider (token and userinfo endpoints)'),
    ],
    secretConsumers: () => [grafanaConsumer()],
  };

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    const config = {
      'grafana.ini': grafanaIni(props.host, props.sso),
      'datasources.yaml': toYaml(grafanaDatasources(props.scrapeInterval)),
      'dashboards.yaml': toYaml(DASHBOARD_PROVIDERS),
    };
    const dashboards = Object.fromEntries(Object.entries(platformDashboards({ serviceMesh: props.serviceMesh, cephNearfullRatio: props.cephNearfullRatio })).map(([name, json]) => [`${name}.json`, `${JSON.stringify(json, null, 2)}\n`]));
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
