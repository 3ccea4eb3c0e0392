import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { Metallb, MetallbConfig, POOL_NAME } from '../../../charts/core/metallb';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { validateCoreObject } from '../../support/schemas';

const platform = loadDefaultPlatform();
const values = () => Metallb.registration.helm!(platform).values as any;

/** Builds the catalogue's entry `name` from a model, as the render does (these entries need no plan). */
function fromCatalogue(name: string, model: Platform): any[] {
  const chart = Testing.chart();
  PLATFORM_SERVICES.find((s) => s.name === name)!.build(chart, model, { connections: [] });
  return Testing.synth(chart);
}

function synthMetallb(connections = Metallb.registration.connections!(platform)): any[] {
  const chart = Testing.chart();
  new Metallb(chart, 'metallb', { plan: { connections } });
  return Testing.synth(chart);
}

function synthConfig(loadBalancerPool = '10.10.0.192/28'): any[] {
  const chart = Testing.chart();
  new MetallbConfig(chart, 'metallb-config', { loadBalancerPool });
  return Testing.synth(chart);
}

describe('MetalLB', () => {
  it('GIVEN chart 0.16 bundles frr-k8s behind frrk8s.enabled (default true) WHEN rendered THEN neither frr-k8s nor the FRR sidecar mode is installed', () => {
    // The subchart's condition is `frrk8s.enabled`; `external` would point the speaker at another
    // frr-k8s; `speaker.frr.enabled` is the deprecated sidecar mode. L2 needs none of them.
    expect(values().frrk8s).toEqual({ enabled: false, external: false });
    expect(values().speaker.frr).toEqual({ enabled: false });
  });

  it('GIVEN its registration WHEN installed THEN the pinned chart brings its CRDs in wave 0, before metallb-config (wave 1) applies the pool', () => {
    const helm = Metallb.registration.helm!(platform);
    expect({ chart: helm.chart, version: helm.version }).toEqual({ chart: CHARTS.metallb.chart, version: CHARTS.metallb.version });
    expect(values().crds).toEqual({ enabled: true });
    expect(helm.customResourceGroups).toEqual(['metallb.io']);
    expect(Metallb.registration.syncWave).toBe(0);
    expect(MetallbConfig.registration.helm).toBeUndefined();
    expect(MetallbConfig.registration.syncWave).toBeGreaterThan(Metallb.registration.syncWave);
  });

  it('GIVEN its own connections as the plan WHEN rendered THEN its namespace is privileged, with the speaker as the reason', () => {
    const namespace = synthMetallb().find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe('metallb-system');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(namespace.metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/the MetalLB speaker DaemonSet needs hostNetwork/);
  });

  it('fails when the plan holds no connection to MetalLB: its namespace would render no policy for it', () => {
    expect(() => synthMetallb([])).toThrow(/workload metallb-system\/metallb: no connection reaches it/);
  });

  it('GIVEN a pool WHEN configured THEN the pool is handed out only on request and announced over L2, and nothing else is rendered', () => {
    const objects = synthConfig();
    expect(objects.map((o) => o.kind)).toEqual(['IPAddressPool', 'L2Advertisement']);
    const [pool, l2] = objects;
    expect(pool.metadata).toMatchObject({ name: POOL_NAME, namespace: 'metallb-system' });
    expect(pool.spec).toEqual({ addresses: ['10.10.0.192/28'], autoAssign: false, avoidBuggyIPs: true });
    expect(l2.metadata).toMatchObject({ name: POOL_NAME, namespace: 'metallb-system' });
    expect(l2.spec).toEqual({ ipAddressPools: [POOL_NAME] });
  });

  it('GIVEN its own connections WHEN rendered THEN every core object is valid against the pinned Kubernetes schemas', () => {
    for (const object of synthMetallb()) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN a model with another pool WHEN the catalogue builds metallb-config THEN the pool is cluster.loadBalancerPool', () => {
    const model: Platform = { ...platform, cluster: { ...platform.cluster, loadBalancerPool: '192.168.10.224/28' } };
    expect(fromCatalogue('metallb-config', model)[0].spec.addresses).toEqual(['192.168.10.224/28']);
  });
});
