import { Testing, type App } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { DataCloudflareZone } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zone';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { validatePlatform, defaultPlatform, loadDefaultPlatform, type Platform } from '../../../config';
import { DnsStack } from '../../../infra/stacks/dns';
import { meshHosts } from '../../../infra/lib/hosts';
import { applyPatch } from '../../support/patch';

type Block = Record<string, unknown>;

function synthDns(platform: Platform = loadDefaultPlatform()) {
  const app = Testing.app() as App;
  const text = Testing.synth(new DnsStack(app, 'dns', platform));
  return { text, json: JSON.parse(text) as { resource: Record<string, Record<string, Block>>; data: Record<string, Record<string, Block>>; variable: Record<string, Block>; provider: Record<string, Block[]>; terraform: { backend: Block } } };
}

describe('the dns stack', () => {
  const { text, json } = synthDns();
  const records = json.resource.cloudflare_dns_record;
  const GATEWAY_IP = '${data.terraform_remote_state.gateway.outputs.public_ip}';

  it('looks the Cloudflare zone up by name', () => {
    expect(Testing.toHaveDataSourceWithProperties(text, DataCloudflareZone.tfResourceType, { filter: { name: 'lumetium.com' } })).toBe(true);
  });

  it('reads the gateway\'s Elastic IP from the gateway stack\'s state', () => {
    expect(json.data.terraform_remote_state.gateway).toEqual({
      backend: 's3',
      config: { bucket: 'lumetium-platform-tfstate', key: 'gateway/terraform.tfstate', region: 'eu-central-1' },
    });
    expect(json.terraform.backend).toEqual({ s3: expect.objectContaining({ key: 'dns/terraform.tfstate', use_lockfile: true }) });
  });

  it('proxies every public host of the model, with automatic TTL, to the gateway', () => {
    const proxied = Object.values(records).filter((r) => r.proxied === true);
    // The seed's public hosts (decision 0099): GitLab and the prod app.
    expect(proxied.map((r) => r.name).sort()).toEqual(['git.lumetium.com', 'hello.lumetium.com']);
    for (const record of proxied) {
      expect(record).toMatchObject({ type: 'A', ttl: 1, content: GATEWAY_IP, zone_id: '${data.cloudflare_zone.zone.zone_id}' });
    }
  });

  it('publishes no record at all for a mesh-only host (Headscale answers it on the mesh)', () => {
    const names = Object.values(records).map((r) => r.name);
    const mesh = meshHosts(loadDefaultPlatform()).map((h) => h.host);
    expect(mesh).toEqual(expect.arrayContaining(['argocd.lumetium.com', 'ci.lumetium.com', 'grafana.lumetium.com', 'registry.lumetium.com', 'vault.lumetium.com', 'hello-dev.lumetium.com', 'hello-staging.lumetium.com']));
    for (const host of mesh) expect(names, host).not.toContain(host);
  });

  it('keeps Headscale DNS-only with a TTL Cloudflare accepts', () => {
    expect(Testing.toHaveResourceWithProperties(text, DnsRecord.tfResourceType, { name: 'headscale.lumetium.com', type: 'A', proxied: false, content: GATEWAY_IP })).toBe(true);
    const ttl = Number(records.headscale.ttl);
    expect(ttl >= 60 && ttl <= 86400).toBe(true);
  });

  it('proxies only A, AAAA and CNAME records, and never mixes proxy states on one name', () => {
    const byName = new Map<string, Set<unknown>>();
    for (const record of Object.values(records)) {
      if (record.proxied) expect(['A', 'AAAA', 'CNAME']).toContain(record.type);
      byName.set(record.name as string, (byName.get(record.name as string) ?? new Set()).add(record.proxied));
    }
    for (const [name, states] of byName) expect(states.size, name).toBe(1);
  });

  it('takes the API token as a sensitive variable, never a literal', () => {
    expect(json.variable.cloudflare_api_token).toMatchObject({ type: 'string', sensitive: true, nullable: false });
    expect(json.variable.cloudflare_api_token.default).toBeUndefined();
    expect(json.provider.cloudflare).toEqual([{ api_token: '${var.cloudflare_api_token}' }]);
  });

  it('uses the Cloudflare zone of the model when it differs from the domain', () => {
    const platform = validatePlatform(
      applyPatch(defaultPlatform, {
        domain: 'platform.lumetium.com',
        gateway: { cloudflareZone: 'lumetium.com' },
        mesh: { headscaleHost: 'headscale.platform.lumetium.com', baseDomain: 'mesh.platform.lumetium.com' },
        services: Object.fromEntries(Object.entries(defaultPlatform.services).map(([name, s]) => [name, s.host ? { host: s.host.replace('lumetium.com', 'platform.lumetium.com'), exposure: 'public' } : {}])),
        apps: { hello: { environments: Object.fromEntries(Object.entries(defaultPlatform.apps.hello.environments).map(([env, e]) => [env, { host: e.host.replace('lumetium.com', 'platform.lumetium.com') }])) } },
      }),
    );
    const other = synthDns(platform);
    expect(other.json.data.cloudflare_zone.zone).toMatchObject({ filter: { name: 'lumetium.com' } });
    expect(other.json.resource.cloudflare_dns_record.grafana.name).toBe('grafana.platform.lumetium.com');
  });
});
