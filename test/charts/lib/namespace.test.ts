import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { PlatformNamespace } from '../../../charts/lib/namespace';
import { TlsIngress, issuerFor } from '../../../charts/lib/ingress';
import { nodeSelectorFor } from '../../../charts/lib/placement';
import { NODE_LABEL } from '../../../config/topology';
import { loadDefaultPlatform } from '../../../config';

const chart = () => new Chart(Testing.app(), 'test');

describe('PlatformNamespace', () => {
  it('labels the namespace restricted for enforce, audit and warn and adds the default deny', () => {
    const c = chart();
    new PlatformNamespace(c, 'ns', { name: 'team', workloads: [], plan: { connections: [] } });
    const [namespace, deny] = Testing.synth(c);
    expect(namespace.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    expect(namespace.metadata.annotations).toBeUndefined();
    expect(deny.kind).toBe('NetworkPolicy');
  });

  it('declares the policy exception on a privileged namespace', () => {
    const c = chart();
    new PlatformNamespace(c, 'ns', { name: 'storage', podSecurity: 'privileged', exceptionReason: 'the node plugin maps block devices', workloads: [], plan: { connections: [] } });
    const [namespace] = Testing.synth(c);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(namespace.metadata.annotations).toEqual({ 'policy.platform-synthesizer.io/exceptions': 'K8S-SEC-11: the node plugin maps block devices' });
  });

  it('fails when a namespace is relaxed without a reason', () => {
    expect(() => new PlatformNamespace(chart(), 'ns', { name: 'x', podSecurity: 'baseline', workloads: [], plan: { connections: [] } })).toThrow(
      'namespace x: pod security "baseline" needs an exceptionReason (see POLICY-RULES section 3)',
    );
  });
});

describe('TlsIngress and issuers', () => {
  const platform = loadDefaultPlatform();

  it('gives platform services and every environment the production issuer (all hosts are proxied)', () => {
    for (const env of ['platform', 'prod', 'staging', 'dev']) expect(issuerFor(platform, env), env).toBe('letsencrypt-prod');
    expect(() => issuerFor(platform, 'qa')).toThrow('environments.qa: no such environment');
  });

  it('renders TLS for its host with the issuer annotation', () => {
    const c = chart();
    new TlsIngress(c, 'i', { name: 'shop', namespace: 'prod-shop', host: 'shop.example.com', serviceName: 'shop', servicePort: 8080, issuer: 'letsencrypt-prod' });
    const [ingress] = Testing.synth(c);
    expect(ingress.spec.tls).toEqual([{ hosts: ['shop.example.com'], secretName: 'shop-tls' }]);
    expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-prod');
  });
});

describe('placement', () => {
  it('selects the node the model assigns through the node label', () => {
    const platform = loadDefaultPlatform();
    expect(nodeSelectorFor(platform, 'vault')).toEqual({ [NODE_LABEL]: 'k3s-master' });
    expect(nodeSelectorFor(platform, 'harbor')).toEqual({ [NODE_LABEL]: 'k3s-worker-02' });
  });
});
