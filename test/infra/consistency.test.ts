/**
 * One model drives every layer of the edge, so they cannot disagree: the public hosts of the model
 * are exactly the Cloudflare records (plus Headscale's), exactly the HAProxy routes on 443 and 80,
 * and the Headscale policy lets the gateway reach exactly what HAProxy forwards to. The mesh-only
 * hosts are exactly Headscale's DNS records and appear in no public layer (decision 0099).
 */
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPlatform } from '../../cli/render';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../config';
import { MESH_TAGS } from '../../infra/gateway/model';
import { meshHosts, publicHosts } from '../../infra/lib/hosts';
import { INGRESS_GATEWAY_PORT } from '../../config/gateway';
import { AclEvaluator, parseHujson } from '../support/acl';
import { ROOT } from '../support/render';
import { sectionOf } from '../support/haproxy';

const platforms: [string, Platform][] = [
  ['the default platform', loadDefaultPlatform()],
  ['the single-node platform', loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'))],
];

type Block = Record<string, unknown>;

const SERVICE_HOSTS = (platform: Platform) => Object.values(platform.services).flatMap((s) => (s.host ? [s.host] : []));

describe.each(platforms)('the edge of %s', (_, platform) => {
  const files = renderPlatform(platform);
  const haproxy = files.get('gateway/haproxy.cfg')!;
  const dns = JSON.parse(files.get('terraform/dns/cdk.tf.json')!) as { resource: { cloudflare_dns_record: Record<string, Block> } };
  const gateway = JSON.parse(files.get('terraform/gateway/cdk.tf.json')!) as { resource: Record<string, Record<string, Block>> };
  const hosts = publicHosts(platform).map((h) => h.host).sort();
  const headscaleHost = platform.mesh.headscaleHost;
  const valuesOf = (lines: string[], prefix: string) => lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length)).sort();

  it('has a Cloudflare record for every public host and for Headscale, and no other', () => {
    const records = Object.values(dns.resource.cloudflare_dns_record);
    expect(records.filter((r) => r.proxied).map((r) => r.name).sort()).toEqual(hosts);
    expect(records.filter((r) => !r.proxied).map((r) => r.name)).toEqual([headscaleHost]);
  });

  it('routes exactly the public hosts on 443 and 80, and Headscale on 443 only', () => {
    expect(valuesOf(sectionOf(haproxy, 'frontend https'), 'acl public_host req.ssl_sni -i ')).toEqual(hosts);
    expect(valuesOf(sectionOf(haproxy, 'frontend http'), 'acl public_host req.hdr(host),field(1,:) -i ')).toEqual(hosts);
    expect(valuesOf(sectionOf(haproxy, 'frontend https'), 'acl headscale_host req.ssl_sni -i ')).toEqual([headscaleHost]);
    expect(sectionOf(haproxy, 'frontend http').join('\n')).not.toContain(headscaleHost);
  });

  it('resolves exactly the mesh-only hosts on the mesh, to the ingress address, and publishes them nowhere public', () => {
    const mesh = meshHosts(platform).map((h) => h.host).sort();
    const headscale = parse(files.get('gateway/headscale/config.yaml')!);
    expect(headscale.dns.extra_records.map((r: { name: string }) => r.name).sort()).toEqual(mesh);
    const records = Object.values(dns.resource.cloudflare_dns_record).map((r) => r.name);
    for (const host of mesh) {
      expect(records, host).not.toContain(host);
      expect(haproxy, host).not.toContain(host);
    }
    // Every Ingress host of the model is one or the other: nothing served falls between the two.
    expect([...mesh, ...hosts].sort()).toEqual(
      [...new Set([...SERVICE_HOSTS(platform), ...Object.values(platform.apps).flatMap((a) => Object.values(a.environments).map((e) => e.host))])].sort(),
    );
  });

  it('lets the gateway reach every mesh backend of HAProxy, and nothing else', () => {
    const targets = (haproxy.match(/^\s+server \S+ (\S+):(\d+)/gm) ?? []).map((line) => {
      const [, address, port] = /server \S+ (\S+):(\d+)/.exec(line)!;
      return { address, port: Number(port) };
    });
    const overMesh = targets.filter((t) => t.address !== '127.0.0.1');
    expect(overMesh.map((t) => `${t.address}:${t.port}`).sort()).toEqual([`${platform.cluster.ingressAddress}:80`, `${platform.cluster.ingressAddress}:${INGRESS_GATEWAY_PORT}`]);

    const device = { name: 'gateway', ip: platform.gateway.meshAddress, tags: [MESH_TAGS.gateway] };
    const nodes = Object.values(platform.nodes).map((n) => ({ name: n.meshAddress, ip: n.meshAddress, tags: [MESH_TAGS.node] }));
    const acl = new AclEvaluator(parseHujson(files.get('gateway/headscale/acl.hujson')!), [device, ...nodes]);
    for (const target of overMesh) expect(acl.canReach(device, target.address, target.port), `${target.address}:${target.port}`).toBe(true);
    const probes = [...nodes.map((n) => n.ip), platform.cluster.ingressAddress];
    for (const ip of probes) {
      // 443: HAProxy uses the controller's gateway port, never its plain TLS port.
      for (const port of [22, 53, 443, 2379, 6443, 8080, 10250]) {
        expect(acl.canReach(device, ip, port), `${ip}:${port}`).toBe(false);
      }
    }
  });

  it('opens in the security group what HAProxy and Headscale serve publicly, and not the mesh-only metrics', () => {
    const ingress = Object.values(gateway.resource.aws_vpc_security_group_ingress_rule).map((r) => `${r.ip_protocol}/${r.from_port}`);
    const binds = (haproxy.match(/^\s+bind :(\d+)/gm) ?? []).map((line) => `tcp/${/:(\d+)/.exec(line)![1]}`);
    for (const bind of binds) expect(ingress).toContain(bind);
    const headscale = parse(files.get('gateway/headscale/config.yaml')!);
    expect(ingress).toContain(`udp/${headscale.derp.server.stun_listen_addr.split(':')[1]}`);
    expect(ingress).not.toContain('tcp/8405');
    // HAProxy hands the Headscale SNI to the port Headscale listens on.
    expect(sectionOf(haproxy, 'backend headscale')).toEqual([`server headscale ${headscale.listen_addr} check`]);
  });

  it('gives the instance exactly the committed cloud-init as user data: every file the stack reads is that file of the render', () => {
    const instance = gateway.resource.aws_instance.gateway;
    expect(instance.user_data).toBeUndefined();
    const stack = JSON.stringify(gateway);
    // From the stack's folder (terraform -chdir=dist/terraform/gateway: path.module) to a file of dist/.
    const read = [...stack.matchAll(/file(?:sha256)?\(\\"\$\{path\.module\}\/([^"\\]+)\\"\)/g)].map((m) => posix.join('terraform/gateway', m[1]));
    expect(read).toHaveLength(3); // the user data, the replacement trigger, the size precondition
    expect(new Set(read)).toEqual(new Set(['gateway/cloud-init.yaml']));
    expect(files.has('gateway/cloud-init.yaml')).toBe(true);
    expect(String(instance.user_data_base64)).toContain('file(');
  });
});
