import { DataTerraformRemoteStateS3, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { DataCloudflareZone } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zone';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import type { Platform } from '../../config';
import { cloudflareZone } from '../gateway/model';
import { publicHosts } from '../lib/hosts';
import { useStateBucket } from '../lib/backend';

/**
 * Proxied records: "Auto" TTL is the only one Cloudflare allows.
 * @see https://developers.cloudflare.com/dns/manage-dns-records/reference/ttl/
 */
export const PROXIED_TTL = 1;
/** DNS-only records (Headscale): short enough to move the gateway within minutes. */
export const DNS_ONLY_TTL = 300;

/**
 * Cloudflare DNS: one A record per public host of the model (exposure `public`; mesh-only hosts
 * get none: Headscale's DNS answers them on the mesh, decision 0100), all pointing at the gateway's Elastic
 * IP, read from the gateway stack's state (apply `gateway` first). Web hosts are proxied (the
 * origin address stays hidden, Cloudflare's TLS and WAF apply); the Headscale host is DNS-only,
 * because Tailscale clients need a direct connection to the control server and its DERP relay.
 * The API token is a sensitive variable (`TF_VAR_cloudflare_api_token`), never in Git.
 */
export class DnsStack extends TerraformStack {
  constructor(scope: Construct, id: string, platform: Platform) {
    super(scope, id);
    useStateBucket(this, platform, id);

    const token = new TerraformVariable(this, 'cloudflare_api_token', {
      type: 'string',
      sensitive: true,
      nullable: false,
      description: 'Cloudflare API token with Zone:Read and DNS:Edit on the zone; set TF_VAR_cloudflare_api_token',
    });
    new CloudflareProvider(this, 'cloudflare', { apiToken: token.stringValue });

    const gateway = new DataTerraformRemoteStateS3(this, 'gateway', {
      bucket: platform.gateway.stateBucket,
      key: 'gateway/terraform.tfstate',
      region: platform.gateway.region,
    });
    const address = gateway.getString('public_ip');

    const zone = new DataCloudflareZone(this, 'zone', { filter: { name: cloudflareZone(platform) } });

    for (const { service, host } of publicHosts(platform)) {
      new DnsRecord(this, service, {
        zoneId: zone.zoneId,
        name: host,
        type: 'A',
        content: address,
        proxied: true,
        ttl: PROXIED_TTL,
        comment: `platform-synthesizer: ${service}, proxied to the gateway`,
      });
    }
    new DnsRecord(this, 'headscale', {
      zoneId: zone.zoneId,
      name: platform.mesh.headscaleHost,
      type: 'A',
      content: address,
      proxied: false,
      ttl: DNS_ONLY_TTL,
      comment: 'platform-synthesizer: Headscale control server, DNS-only (Tailscale clients connect directly)',
    });
  }
}
