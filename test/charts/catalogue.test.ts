import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { allServices, PLATFORM_SERVICES } from '../../charts/catalogue';
import { servicePlan } from '../../charts/synth';
import { loadDefaultPlatform, type Platform } from '../../config';

/** Builds one catalogue entry on its own chart, from a model, the way the render does. */
function build(name: string, platform: Platform): any[] {
  const service = PLATFORM_SERVICES.find((s) => s.name === name)!;
  const chart = Testing.chart();
  service.build(chart, platform, servicePlan(platform, allServices(platform)));
  return Testing.synth(chart);
}

describe('catalogue', () => {
  it('GIVEN a model that moves Loki and changes its retention and volume WHEN the catalogue builds Loki THEN its props come from services.loki and observability.loki', () => {
    const seed = loadDefaultPlatform();
    const node = Object.keys(seed.nodes).find((n) => n !== seed.services.loki.node)!;
    const platform: Platform = {
      ...seed,
      services: { ...seed.services, loki: { ...seed.services.loki, node } },
      observability: { ...seed.observability, loki: { retentionDays: 3, storageGiB: 42 } },
    };
    const objects = build('loki', platform);
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': node });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('42Gi');
    expect(objects.find((o) => o.kind === 'ConfigMap').data['loki.yaml']).toContain('retention_period: 72h');
  });

  it('GIVEN the seed model WHEN the catalogue builds Grafana THEN host, node, scrape interval and Vault name come from the model', () => {
    const seed = loadDefaultPlatform();
    const objects = build('grafana', seed);
    expect(objects.find((o) => o.kind === 'Ingress').spec.tls[0].hosts).toEqual([seed.services.grafana.host]);
    const pod = objects.find((o) => o.kind === 'Deployment').spec.template;
    expect(pod.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': seed.services.grafana.node });
    expect(pod.metadata.annotations['vault.hashicorp.com/tls-server-name']).toBe(seed.services.vault.host);
    const datasources = objects.find((o) => o.metadata.name === 'grafana-config').data['datasources.yaml'];
    expect(datasources).toContain(`timeInterval: ${seed.observability.scrapeInterval}`);
  });

  it('GIVEN the seed placement WHEN the catalogue builds Prometheus and Alertmanager THEN they run on different nodes', () => {
    const seed = loadDefaultPlatform();
    const selectorOf = (name: string) => build(name, seed).find((o) => o.kind === 'StatefulSet' && o.metadata.name === name).spec.template.spec.nodeSelector;
    expect(selectorOf('alertmanager')).toBeDefined();
    expect(selectorOf('prometheus')).toBeDefined();
    expect(selectorOf('alertmanager')).not.toEqual(selectorOf('prometheus'));
  });

  it('fails when the model places a service on a node it does not have', () => {
    const seed = loadDefaultPlatform();
    const platform: Platform = { ...seed, services: { ...seed.services, loki: { ...seed.services.loki, node: 'nowhere' } } };
    expect(() => build('loki', platform)).toThrow('services.loki.node: "nowhere": no such node; place the service on one of: ');
  });

  it('names each service once', () => {
    const names = PLATFORM_SERVICES.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
