import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, validatePlatform } from '../../../config';
import { PROD_ISSUER, STAGING_ISSUER, issuerFor } from '../../../charts/lib/ingress';
import { applyPatch } from '../../support/patch';
import { defaultRender, kubeObjects } from '../../support/render';

describe('certificates behind Cloudflare', () => {
  it('GIVEN the rendered Cloudflare records WHEN a proxied host is served THEN its Ingress and Certificate use the production issuer', () => {
    const files = defaultRender();
    const dns = JSON.parse(files.get('terraform/dns/cdk.tf.json')!) as { resource: { cloudflare_dns_record: Record<string, { name: string; proxied: boolean }> } };
    const proxied = new Set(Object.values(dns.resource.cloudflare_dns_record).filter((r) => r.proxied).map((r) => r.name));
    const objects = kubeObjects(files).map(({ object }) => object as any);
    const served: string[] = [];
    for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
      for (const host of (ingress.spec.tls ?? []).flatMap((tls: { hosts: string[] }) => tls.hosts)) {
        if (!proxied.has(host)) continue;
        served.push(host);
        expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer'], `${ingress.metadata.namespace}/${ingress.metadata.name} (${host})`).toBe(PROD_ISSUER);
      }
    }
    for (const certificate of objects.filter((o) => o.kind === 'Certificate')) {
      // CA certificates (the mesh's trust chain) name no host.
      if (!(certificate.spec.dnsNames ?? []).some((name: string) => proxied.has(name))) continue;
      expect(certificate.spec.issuerRef.name, `${certificate.metadata.namespace}/${certificate.metadata.name}`).toBe(PROD_ISSUER);
    }
    // The check covered an app environment too, not only the platform's hosts.
    expect(served).toEqual(expect.arrayContaining(['git.lumetium.com', 'hello.lumetium.com']));
  });

  it('fails when an environment with a public host asks for Let’s Encrypt staging certificates', () => {
    // The model's validation refuses this already (config/schema.ts); the chart refuses it too, for a model built in code.
    const platform = structuredClone(loadDefaultPlatform());
    platform.environments.dev.certificateIssuer = 'letsencrypt-staging';
    platform.apps.hello.environments.dev.exposure = 'public';
    expect(() => issuerFor(platform, 'dev', 'public')).toThrow(
      'environments.dev.certificateIssuer: "letsencrypt-staging": its public hosts are proxied Cloudflare records and Full (strict) refuses Let\'s Encrypt staging certificates (error 526); use "letsencrypt-prod", or make the environment\'s hosts exposure "mesh"',
    );
    expect(() => issuerFor(platform, 'dev')).toThrow('its public hosts are proxied Cloudflare records');
  });

  it('GIVEN an environment on the staging issuer WHEN its host is mesh-only THEN its Ingress names the staging issuer (no Cloudflare in its path)', () => {
    const platform = validatePlatform(applyPatch(loadDefaultPlatform(), { environments: { dev: { certificateIssuer: 'letsencrypt-staging' } } }));
    expect(platform.apps.hello.environments.dev.exposure).toBe('mesh');
    expect(issuerFor(platform, 'dev', 'mesh')).toBe(STAGING_ISSUER);
    // The platform's own hosts keep production certificates whatever their exposure.
    expect(issuerFor(platform, 'platform', 'mesh')).toBe(PROD_ISSUER);
  });
});
