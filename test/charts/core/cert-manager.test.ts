import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { CertManager, CertManagerConfig, type CertManagerConfigProps } from '../../../charts/core/cert-manager';
import { describePeer } from '../../../charts/lib/network';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { validateCoreObject } from '../../support/schemas';
import { ROOT } from '../../support/render';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const values = (model = platform) => CertManager.registration.helm!(model).values as any;

const ISSUERS: CertManagerConfigProps = { acmeEmail: 'ops@example.com', domain: 'example.com' };

/** Builds the catalogue's entry `name` from a model, as the render does (these entries need no plan). */
function fromCatalogue(name: string, model: Platform): any[] {
  const chart = Testing.chart();
  PLATFORM_SERVICES.find((s) => s.name === name)!.build(chart, model, { connections: [] });
  return Testing.synth(chart);
}

function synthIssuers(props: CertManagerConfigProps = ISSUERS): any[] {
  const chart = Testing.chart();
  new CertManagerConfig(chart, 'cert-manager-config', props);
  return Testing.synth(chart);
}

function synthCertManager(): any[] {
  const chart = Testing.chart();
  new CertManager(chart, 'cert-manager', { plan: { connections: CertManager.registration.connections!(platform) } });
  return Testing.synth(chart);
}

describe('cert-manager', () => {
  it('GIVEN its registration WHEN installed THEN the pinned chart brings its CRDs (kept on uninstall) in wave 0, before the issuers (wave 1)', () => {
    const helm = CertManager.registration.helm!(platform);
    expect({ chart: helm.chart, version: helm.version }).toEqual({ chart: CHARTS.certManager.chart, version: CHARTS.certManager.version });
    expect(values().crds).toEqual({ enabled: true, keep: true });
    expect(CertManager.registration.syncWave).toBe(0);
    expect(CertManagerConfig.registration.helm).toBeUndefined();
    expect(CertManagerConfig.registration.syncWave).toBeGreaterThan(CertManager.registration.syncWave);
  });

  it('GIVEN the model\'s resolvers WHEN installed THEN DNS-01 propagation checks ask only them', () => {
    expect(values().dns01RecursiveNameservers).toBe('1.1.1.1:53,1.0.0.1:53');
    expect(values().dns01RecursiveNameserversOnly).toBe(true);
    expect(values(single).dns01RecursiveNameservers).toBe('9.9.9.9:53');
  });

  it('GIVEN the resolvers WHEN the network is planned THEN the controller reaches exactly them on port 53, UDP and TCP', () => {
    const toResolvers = CertManager.registration.connections!(single).find((c) => c.purpose === 'DNS-01 propagation checks')!;
    expect(describePeer(toResolvers.from)).toBe('cert-manager/cert-manager');
    expect('network' in toResolvers.to && toResolvers.to.network.cidrs).toEqual([{ cidr: '9.9.9.9/32' }]);
    expect(toResolvers.ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
  });

  it('GIVEN a domain and an address WHEN the issuers are rendered THEN staging and prod solve DNS-01 on Cloudflare with the hand-made token Secret, each with its own account key', () => {
    const objects = synthIssuers();
    expect(objects.map((o) => o.metadata.name)).toEqual(['letsencrypt-staging', 'letsencrypt-prod']);
    const [staging, prod] = objects;
    expect(staging.spec.acme.server).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(prod.spec.acme.server).toBe('https://acme-v02.api.letsencrypt.org/directory');
    for (const issuer of [staging, prod]) {
      expect(issuer.kind).toBe('ClusterIssuer');
      expect(issuer.spec.acme.email).toBe('ops@example.com');
      expect(issuer.spec.acme.solvers).toEqual([
        { selector: { dnsZones: ['example.com'] }, dns01: { cloudflare: { apiTokenSecretRef: { name: 'cloudflare-api-token', key: 'api-token' } } } },
      ]);
    }
    expect(staging.spec.acme.privateKeySecretRef.name).not.toBe(prod.spec.acme.privateKeySecretRef.name);
    // The token is referenced, never rendered.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('GIVEN its own connections as the plan WHEN rendered THEN its namespace and policies are valid against the pinned Kubernetes schemas', () => {
    const objects = synthCertManager();
    expect(objects.find((o) => o.kind === 'Namespace').metadata.name).toBe('cert-manager');
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN the seed model WHEN the catalogue builds cert-manager-config THEN the issuers use acmeEmail and solve for the domain', () => {
    for (const issuer of fromCatalogue('cert-manager-config', platform)) {
      expect(issuer.spec.acme.email).toBe(platform.acmeEmail);
      expect(issuer.spec.acme.solvers[0].selector.dnsZones).toEqual([platform.domain]);
    }
  });
});
