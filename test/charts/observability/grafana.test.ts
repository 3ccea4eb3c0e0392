import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform } from '../../../config';
import { grafana, grafanaConsumer, grafanaIni } from '../../../charts/observability/grafana';
import { platformDashboards } from '../../../charts/observability/dashboards';
import { dashboard } from '../../../charts/observability/dashboards/builder';
import { defaultRender, kubeObjects } from '../../support/render';

const platform = loadDefaultPlatform();
const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);
const data = (name: string) => (parse(defaultRender().get(`k8s/platform/grafana/configmap-${name}.yaml`)!) as any).data as Record<string, string>;

describe('Grafana', () => {
  it('provisions Prometheus and Loki as datasources, by uid, from their Services', () => {
    expect(parse(data('grafana-config')['datasources.yaml']).datasources).toEqual([
      expect.objectContaining({ name: 'Prometheus', type: 'prometheus', uid: 'prometheus', url: 'http://prometheus.monitoring.svc:9090', isDefault: true, editable: false }),
      expect.objectContaining({ name: 'Loki', type: 'loki', uid: 'loki', url: 'http://loki.monitoring.svc:3100', editable: false }),
    ]);
  });

  it('provisions the dashboards from code: nodes, cluster, Argo CD, ingress, backups, logs and each hosted service, read-only', () => {
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

  it('is served on grafana.<domain> with TLS from the production issuer', () => {
    const ingress = objects().find((o) => o.kind === 'Ingress' && o.metadata.name === 'grafana');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['grafana.lumetium.com'], secretName: 'grafana-tls' }]);
    expect(ingress.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'grafana', port: { number: 3000 } } });
  });

  it('takes its admin password from Vault, through a file, and does not phone home', () => {
    const ini = grafanaIni(platform);
    expect(ini).toContain('admin_password = $__file{/vault/secrets/admin}');
    expect(ini).toContain('root_url = https://grafana.lumetium.com/');
    expect(ini).toContain('allow_sign_up = false');
    expect(ini).toContain('check_for_updates = false');
    expect(grafana.secretConsumers!(platform)).toEqual([grafanaConsumer()]);
    expect(grafanaConsumer().secrets.map((s) => s.name)).toEqual(['admin']);
    const pod = objects().find((o) => o.kind === 'Deployment' && o.metadata.name === 'grafana').spec.template;
    expect(pod.metadata.annotations['vault.hashicorp.com/agent-inject-secret-admin']).toBe('secret/data/grafana/admin');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-master' });
  });
});
