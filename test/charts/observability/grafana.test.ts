import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { spawnSync } from 'node:child_process';
import { APPLICATION_SYNC_WAVE } from '../../../charts/lib/sync-waves';
import { Grafana, grafanaConsumer, grafanaIni, type GrafanaProps } from '../../../charts/observability/grafana';
import { platformDashboards } from '../../../charts/observability/dashboards';
import { dashboard } from '../../../charts/observability/dashboards/builder';
import { configChecksum } from '../../../charts/lib/workload';
import { validateCoreObject } from '../../support/schemas';

const PROPS: GrafanaProps = {
  host: 'grafana.example.com',
  node: 'node-a',
  scrapeInterval: '30s',
  issuer: 'letsencrypt-prod',
  vaultTlsServerName: 'vault.example.com',
  sso: { issuer: 'https://git.example.com', groups: { admin: 'ops/admins', viewer: 'ops/viewers' } },
};

/** grafana.ini as an INI reader sees it (python's configparser, no interpolation), section by section. */
function readIni(text: string): Record<string, Record<string, string>> {
  const script = 'import configparser,json,sys\nc=configparser.RawConfigParser()\nc.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(c[s]) for s in c.sections()}))';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

/** Evaluates a JMESPath expression with the reference implementation (python3-jmespath). */
function jmespath(expression: string, claims: unknown): unknown {
  const script = 'import jmespath,json,sys\nd=json.load(sys.stdin)\nprint(json.dumps(jmespath.search(d["e"], d["c"])))';
  const result = spawnSync('python3', ['-c', script], { input: JSON.stringify({ e: expression, c: claims }), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

function objects(): any[] {
  const chart = Testing.chart();
  new Grafana(chart, 'grafana', PROPS);
  return Testing.synth(chart);
}
const data = (name: string) => objects().find((o) => o.kind === 'ConfigMap' && o.metadata.name === name).data as Record<string, string>;

describe('Grafana', () => {
  it('GIVEN a scrape interval WHEN rendered THEN Prometheus and Loki are provisioned as datasources, by uid, from their Services', () => {
    expect(parse(data('grafana-config')['datasources.yaml']).datasources).toEqual([
      expect.objectContaining({ name: 'Prometheus', type: 'prometheus', uid: 'prometheus', url: 'http://prometheus.monitoring.svc:9090', isDefault: true, editable: false, jsonData: { timeInterval: '30s', httpMethod: 'POST' } }),
      expect.objectContaining({ name: 'Loki', type: 'loki', uid: 'loki', url: 'http://loki.monitoring.svc:3100', editable: false }),
    ]);
  });

  it('GIVEN the dashboards in code WHEN rendered THEN they are provisioned: nodes, cluster, Argo CD, ingress, backups, logs and each hosted service, read-only', () => {
    const dashboards = data('grafana-dashboards');
    expect(Object.keys(dashboards).sort()).toEqual([
      'platform-argocd.json',
      'platform-backups.json',
      'platform-ceph.json',
      'platform-cluster.json',
      'platform-gitlab.json',
      'platform-harbor.json',
      'platform-ingress.json',
      'platform-jenkins.json',
      'platform-logs.json',
      'platform-nodes.json',
      'platform-postgresql.json',
      'platform-redis.json',
      'platform-vault.json',
    ]);
    for (const [file, text] of Object.entries(dashboards)) {
      const json = JSON.parse(text);
      expect(json.uid, file).toBe(file.replace(/\.json$/, ''));
      expect(json.editable).toBe(false);
      expect(json.panels.length, file).toBeGreaterThanOrEqual(2);
      for (const panel of json.panels) {
        // Every query names a provisioned datasource.
        for (const target of panel.targets) expect(['prometheus', 'loki'], `${file} ${panel.title}`).toContain(target.datasource.uid);
        expect(panel.gridPos.x + panel.gridPos.w, `${file} ${panel.title}`).toBeLessThanOrEqual(24);
      }
    }
    expect(parse(data('grafana-config')['dashboards.yaml']).providers[0]).toMatchObject({ type: 'file', disableDeletion: true, allowUiUpdates: false });
    expect(Object.keys(platformDashboards())).toHaveLength(13);
  });

  it('fails when a dashboard row is wider than the grid', () => {
    const wide = { kind: 'stat' as const, title: 'wide', width: 16, queries: [{ expr: 'up' }] };
    expect(() => dashboard({ uid: 'x', title: 'x', tags: [], description: '', rows: [[wide, wide]] })).toThrow('dashboard x: a row of wide, wide is 32 columns wide; at most 24 fit');
  });

  it('GIVEN a host and an issuer WHEN rendered THEN it is served on that host with TLS from that issuer', () => {
    const ingress = objects().find((o) => o.kind === 'Ingress');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['grafana.example.com'], secretName: 'grafana-tls' }]);
    expect(ingress.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'grafana', port: { number: 3000 } } });
  });

  it('GIVEN Vault WHEN rendered THEN the admin password comes from Vault through a file, and it does not phone home', () => {
    const ini = grafanaIni(PROPS.host, PROPS.sso);
    expect(ini).toContain('admin_password = $__file{/vault/secrets/admin}');
    expect(ini).toContain('root_url = https://grafana.example.com/');
    expect(ini).toContain('allow_sign_up = false');
    expect(ini).toContain('check_for_updates = false');
    expect(Grafana.registration.secretConsumers!({} as never)).toEqual([grafanaConsumer()]);
    expect(grafanaConsumer().secrets.map((s) => s.name)).toEqual(['admin', 'sso-client-id', 'sso-client-secret']);
    const pod = objects().find((o) => o.kind === 'Deployment').spec.template;
    expect(pod.metadata.annotations['vault.hashicorp.com/agent-inject-secret-admin']).toBe('secret/data/grafana/admin');
    expect(pod.metadata.annotations['vault.hashicorp.com/tls-server-name']).toBe('vault.example.com');
    expect(pod.spec.volumes.map((v: any) => v.name)).toContain('vault-token');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
  });

  it('GIVEN GitLab and two groups WHEN grafana.ini is read THEN everyone signs in through GitLab, the groups decide the role, and the form stays for break-glass only', () => {
    const ini = readIni(grafanaIni(PROPS.host, PROPS.sso));
    const oauth = ini['auth.generic_oauth'];
    expect(oauth).toMatchObject({
      enabled: 'true',
      auto_login: 'true',
      client_id: '$__file{/vault/secrets/sso-client-id}',
      client_secret: '$__file{/vault/secrets/sso-client-secret}',
      scopes: 'openid profile email',
      auth_url: 'https://git.example.com/oauth/authorize',
      token_url: 'https://git.example.com/oauth/token',
      api_url: 'https://git.example.com/oauth/userinfo',
      groups_attribute_path: 'groups_direct',
      allowed_groups: 'ops/admins ops/viewers',
      role_attribute_strict: 'true',
      allow_assign_grafana_admin: 'false',
    });
    expect(ini['auth.basic']).toEqual({ enabled: 'false' });
    expect(ini['security'].admin_password).toBe('$__file{/vault/secrets/admin}');
    // The role path, evaluated as a JMESPath engine does, over ID tokens GitLab would issue.
    const role = (groups: string[]) => jmespath(oauth.role_attribute_path, { preferred_username: 'ada', groups_direct: groups });
    expect(role(['ops/admins'])).toBe('Admin');
    expect(role(['ops/viewers', 'ops/admins'])).toBe('Admin');
    expect(role(['ops/viewers'])).toBe('Viewer');
    // Not a member of either: no role, so role_attribute_strict refuses the sign-in.
    expect(role(['ops', 'ops/admins-old'])).toBe(false);
  });

  it('GIVEN its Vault consumer WHEN the pod is rendered THEN GitLab\'s application reaches it as two files from secret/sso/grafana, loaded once GitLab issues it', () => {
    const pod = objects().find((o) => o.kind === 'Deployment').spec.template;
    for (const name of ['sso-client-id', 'sso-client-secret']) {
      expect(pod.metadata.annotations[`vault.hashicorp.com/agent-inject-secret-${name}`]).toBe('secret/data/sso/grafana');
    }
    expect(pod.metadata.annotations['vault.hashicorp.com/agent-inject-template-sso-client-secret']).toContain('index .Data.data "client_secret"');
    expect(grafanaConsumer().secrets.filter((s) => s.name.startsWith('sso-')).map((s) => s.issuedBy)).toEqual(['gitlab', 'gitlab']);
    // GitLab (and Harbor) sync at APPLICATION_SYNC_WAVE; Grafana's pod needs what GitLab issues.
    expect(Grafana.registration.syncWave).toBeGreaterThan(APPLICATION_SYNC_WAVE);
  });

  it('GIVEN its configuration and dashboards WHEN rendered THEN the pod template checksum covers both ConfigMaps, and every object is schema-valid', () => {
    const pod = objects().find((o) => o.kind === 'Deployment').spec.template;
    expect(pod.spec.containers[0].volumeMounts.map((m: any) => m.name)).toEqual(['config', 'config', 'config', 'dashboards', 'data', 'tmp']);
    // Both ConfigMaps roll the pod: Grafana reads provisioned files only at start.
    expect(pod.metadata.annotations['platform-synthesizer.io/config-checksum']).toBe(configChecksum({ ...data('grafana-config'), ...data('grafana-dashboards') }));
    for (const object of objects()) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});
