import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../../config';
import { headscalePolicy, renderHeadscaleConfig, renderHeadscalePolicy } from '../../../infra/gateway/headscale';
import { MESH_TAGS, poolCidrs } from '../../../infra/gateway/model';
import { INGRESS_GATEWAY_PORT } from '../../../config/gateway';
import { AclEvaluator, parseHujson, type MeshDevice } from '../../support/acl';
import { ROOT } from '../../support/render';

/** The mesh as the platform builds it: the gateway, the k3s nodes, an admin's laptop and a stranger's. */
function meshOf(platform: Platform) {
  const gateway: MeshDevice = { name: 'gateway', ip: platform.gateway.meshAddress, tags: [MESH_TAGS.gateway] };
  const nodes = Object.entries(platform.nodes).map(([name, node]) => ({
    name,
    ip: node.meshAddress,
    tags: name === platform.mesh.subnetRouter ? [MESH_TAGS.node, MESH_TAGS.subnetRouter] : [MESH_TAGS.node],
  }));
  const admin: MeshDevice = { name: 'admin-laptop', ip: '100.64.0.200', user: platform.mesh.admins[0] };
  const stranger: MeshDevice = { name: 'guest-laptop', ip: '100.64.0.201', user: 'guest' };
  const acl = new AclEvaluator(parseHujson(renderHeadscalePolicy(platform)), [gateway, ...nodes, admin, stranger]);
  return { gateway, nodes, admin, stranger, acl };
}

describe('the Headscale configuration', () => {
  const platform = loadDefaultPlatform();
  const config = parse(renderHeadscaleConfig(platform));

  it('serves the model\'s host with its own Let\'s Encrypt certificate, behind HAProxy on loopback', () => {
    expect(config.server_url).toBe('https://headscale.lumetium.com');
    expect(config.listen_addr).toBe('127.0.0.1:8443');
    expect(config.tls_letsencrypt_hostname).toBe('headscale.lumetium.com');
    expect(config.tls_letsencrypt_challenge_type).toBe('TLS-ALPN-01');
    expect(config.acme_email).toBe('ops@lumetium.com');
    expect(config.metrics_listen_addr).toBe('127.0.0.1:9090');
    expect(config.grpc_listen_addr).toBe('127.0.0.1:50443');
    expect(config.grpc_allow_insecure).toBe(false);
  });

  it('allocates the mesh prefix of the model, in sequence (the gateway gets the first address)', () => {
    expect(config.prefixes).toEqual({ v4: '100.64.0.0/10', allocation: 'sequential' });
  });

  it('runs its own DERP relay with STUN and uses no third-party relay', () => {
    expect(config.derp.server).toMatchObject({ enabled: true, verify_clients: true, stun_listen_addr: '0.0.0.0:3478', automatically_add_embedded_derp_region: true });
    expect(config.derp.urls).toEqual([]);
    expect(config.derp.paths).toEqual([]);
  });

  it('keeps every key and the database in the persistent state directory, generated on the gateway', () => {
    expect(config.noise.private_key_path).toBe('/var/lib/headscale/noise_private.key');
    expect(config.derp.server.private_key_path).toBe('/var/lib/headscale/derp_server_private.key');
    expect(config.database).toEqual({ type: 'sqlite', sqlite: { path: '/var/lib/headscale/db.sqlite', write_ahead_log: true } });
    expect(renderHeadscaleConfig(platform)).not.toMatch(/PRIVATE KEY|privkey:|nodekey:/);
  });

  it('enables MagicDNS under the model\'s base domain without taking over the nodes\' DNS', () => {
    expect(config.dns).toMatchObject({ magic_dns: true, base_domain: 'mesh.lumetium.com', override_local_dns: false });
  });

  it('reads the rendered ACL policy from a file', () => {
    expect(config.policy).toEqual({ mode: 'file', path: '/etc/headscale/acl.hujson' });
  });

  it('GIVEN mesh-only hosts WHEN a mesh device resolves them THEN MagicDNS answers each with one A record of the ingress address, and no public host', () => {
    // The seed's mesh-only hosts (decision 0099); the public ones (GitLab, the prod app) are Cloudflare's to answer.
    expect(config.dns.extra_records.map((r: { name: string }) => r.name).sort()).toEqual([
      'argocd.lumetium.com',
      'ci.lumetium.com',
      'grafana.lumetium.com',
      'hello-dev.lumetium.com',
      'hello-staging.lumetium.com',
      'registry.lumetium.com',
      'vault.lumetium.com',
    ]);
    for (const record of config.dns.extra_records) expect(record).toEqual({ name: record.name, type: 'A', value: platform.cluster.ingressAddress });
    // Headscale serves extra_records through MagicDNS (docs/ref/dns.md); both options are exclusive (hscontrol/types/config.go).
    expect(config.dns.magic_dns).toBe(true);
    expect(config.dns.extra_records_path).toBeUndefined();
  });

  it('GIVEN a mesh-only host WHEN an admin device connects to the address MagicDNS gives THEN the ACL lets it through on 443, and a stranger not', () => {
    const mesh = meshOf(platform);
    for (const { value } of config.dns.extra_records) {
      expect(mesh.acl.canReach(mesh.admin, value, 443)).toBe(true);
      expect(mesh.acl.canReach(mesh.stranger, value, 443)).toBe(false);
      // The address lies in the pool the subnet router advertises.
      expect(poolCidrs(platform).some((cidr) => inCidr(value, cidr))).toBe(true);
    }
  });

  it('follows another model: every host mesh-only when the model gives no exposure', () => {
    const other = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const records = parse(renderHeadscaleConfig(other)).dns.extra_records as { name: string; value: string }[];
    expect(records.map((r) => r.name)).toContain('cd.example.net');
    expect(records.map((r) => r.name)).toContain('shop.example.net');
    expect(new Set(records.map((r) => r.value))).toEqual(new Set([other.cluster.ingressAddress]));
  });
});

function inCidr(address: string, cidr: string): boolean {
  const toInt = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return toInt(address) >= toInt(base) && toInt(address) < toInt(base) + size;
}

describe('the Headscale ACL policy', () => {
  const platform = loadDefaultPlatform();
  const { gateway, nodes, admin, stranger, acl } = meshOf(platform);
  const [master, worker] = nodes;
  const ingress = platform.cluster.ingressAddress;

  it('parses as HuJSON, with the admins of the model and an owner for every tag it uses', () => {
    const policy = parseHujson(renderHeadscalePolicy(platform));
    expect(policy.groups).toEqual({ 'group:admins': ['ops@'] });
    const used = JSON.stringify([policy.acls, policy.ssh, policy.autoApprovers]).match(/tag:[a-z0-9-]+/g) ?? [];
    for (const tag of used) expect(policy.tagOwners?.[tag], tag).toEqual(['group:admins']);
  });

  it('auto-approves the MetalLB pool only when the subnet router advertises it', () => {
    const policy = parseHujson(renderHeadscalePolicy(platform));
    expect(policy.autoApprovers).toEqual({ routes: { '192.168.10.240/28': ['tag:ingress-router'] } });
    expect(nodes.filter((n) => n.tags.includes(MESH_TAGS.subnetRouter)).map((n) => n.name)).toEqual(['k3s-master']);
  });

  it('lets the gateway reach the ingress controller only on 80 and its gateway port (PROXY protocol)', () => {
    expect(acl.canReach(gateway, ingress, INGRESS_GATEWAY_PORT)).toBe(true);
    expect(acl.canReach(gateway, ingress, 80)).toBe(true);
    // HAProxy never uses the plain 443 of the controller.
    expect(acl.canReach(gateway, ingress, 443)).toBe(false);
    expect(acl.canReach(gateway, ingress, 22)).toBe(false);
    expect(acl.canReach(gateway, ingress, INGRESS_GATEWAY_PORT, 'udp')).toBe(false);
    expect(acl.canReach(gateway, '192.168.10.241', INGRESS_GATEWAY_PORT)).toBe(false);
  });

  it('denies the gateway every node, every other port and the LAN', () => {
    for (const node of nodes) {
      for (const port of [22, 6443, 10250, 2379]) expect(acl.canReach(gateway, node.ip, port), `${node.name}:${port}`).toBe(false);
    }
    expect(acl.canReach(gateway, platform.nodes['k3s-master'].lanAddress, 22)).toBe(false);
    expect(acl.canReach(gateway, admin.ip, 22)).toBe(false);
  });

  it('lets the nodes reach each other on every port and protocol', () => {
    expect(acl.canReach(master, worker.ip, 10250)).toBe(true);
    expect(acl.canReach(worker, master.ip, 6443)).toBe(true);
    expect(acl.canReach(worker, master.ip, 8472, 'udp')).toBe(true);
  });

  it('lets the nodes scrape HAProxy on the gateway, and nothing else there', () => {
    expect(acl.canReach(master, gateway.ip, 8405)).toBe(true);
    expect(acl.canReach(master, gateway.ip, 22)).toBe(false);
    expect(acl.canReach(master, gateway.ip, 8443)).toBe(false);
    expect(acl.canReach(master, admin.ip, 22)).toBe(false);
  });

  it('lets admins reach exactly what the runbook uses: the web hosts, the API, SSH and HAProxy statistics', () => {
    expect(acl.canReach(admin, ingress, 443)).toBe(true);
    expect(acl.canReach(admin, ingress, 80)).toBe(true);
    expect(acl.canReach(admin, master.ip, 6443)).toBe(true);
    for (const device of [gateway, ...nodes]) expect(acl.canReach(admin, device.ip, 22), device.name).toBe(true);
    expect(acl.canReach(admin, gateway.ip, 8405)).toBe(true);
  });

  it('denies admins every undeclared port: kubelet, etcd, Vault, the agents\' API, the gateway port, other pool addresses, the LAN', () => {
    for (const node of nodes) {
      for (const port of [2379, 2380, 8200, 10250, 8472, 9100, 5432]) expect(acl.canReach(admin, node.ip, port), `${node.name}:${port}`).toBe(false);
      expect(acl.canReach(admin, node.ip, 22, 'udp'), `${node.name}:22/udp`).toBe(false);
    }
    for (const agent of nodes.filter((n) => n.ip !== platform.nodes['k3s-master'].meshAddress)) expect(acl.canReach(admin, agent.ip, 6443), agent.name).toBe(false);
    for (const port of [INGRESS_GATEWAY_PORT, 8080, 22, 8200]) expect(acl.canReach(admin, ingress, port), `ingress:${port}`).toBe(false);
    expect(acl.canReach(admin, '192.168.10.241', 443)).toBe(false);
    for (const port of [443, 8443, 9090, 50443, 3478]) expect(acl.canReach(admin, gateway.ip, port), `gateway:${port}`).toBe(false);
    expect(acl.canReach(admin, platform.nodes['k3s-master'].lanAddress, 22)).toBe(false);
    expect(acl.canReach(admin, stranger.ip, 22)).toBe(false);
  });

  it('denies the nodes and the gateway every admin device', () => {
    for (const device of [gateway, ...nodes]) {
      for (const port of [22, 80, 443, 8080]) expect(acl.canReach(device, admin.ip, port), `${device.name} -> admin:${port}`).toBe(false);
    }
  });

  it('allows a flow if and only if a declared flow covers it (every device pair, ports of every kind)', () => {
    // The oracle, written from the model and the decision record (0080), not from the rendered rules.
    const serverIp = platform.nodes['k3s-master'].meshAddress;
    const isNode = (d: MeshDevice) => d.tags?.includes(MESH_TAGS.node) ?? false;
    const expected = (from: MeshDevice, to: string, port: number, proto: 'tcp' | 'udp'): boolean => {
      const toNode = nodes.some((n) => n.ip === to);
      if (isNode(from)) return toNode || (to === gateway.ip && port === 8405 && proto === 'tcp');
      if (proto !== 'tcp') return false;
      if (from === gateway) return to === ingress && [80, INGRESS_GATEWAY_PORT].includes(port);
      if (from === admin) {
        return (
          (to === ingress && [80, 443].includes(port)) ||
          (to === serverIp && port === 6443) ||
          ((toNode || to === gateway.ip) && port === 22) ||
          (to === gateway.ip && port === 8405)
        );
      }
      return false;
    };
    const targets = [gateway.ip, ...nodes.map((n) => n.ip), admin.ip, stranger.ip, ingress, '192.168.10.245', platform.nodes['k3s-master'].lanAddress];
    const ports = [22, 53, 80, 443, 2379, 3478, 6443, 8080, 8200, 8405, 8443, 8472, 9090, 9100, 10250, 41641, 50443];
    const mismatches: string[] = [];
    for (const from of [gateway, ...nodes, admin, stranger]) {
      for (const to of targets) {
        if (to === from.ip) continue;
        for (const port of ports) {
          for (const proto of ['tcp', 'udp'] as const) {
            const allowed = acl.canReach(from, to, port, proto);
            if (allowed !== expected(from, to, port, proto)) mismatches.push(`${from.name} -> ${to}:${port}/${proto}: ${allowed ? 'allowed, not declared' : 'declared, denied'}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('states the purpose of every rule, one comment line right above it', () => {
    const lines = renderHeadscalePolicy(platform).split('\n');
    const rules = lines.flatMap((line, i) => (/^\s*\{"action":"accept"/.test(line) ? [i] : []));
    expect(rules.length).toBe(headscalePolicy(platform).policy.acls.length);
    for (const i of rules) expect(lines[i - 1], lines[i]).toMatch(/^\s*\/\/ [A-Z].{20,}\.$/);
  });

  it('denies everything to a device of any other user', () => {
    for (const target of [gateway.ip, master.ip, ingress]) {
      for (const port of [22, 80, 443, 8405]) expect(acl.canReach(stranger, target, port), `${target}:${port}`).toBe(false);
    }
  });

  it('gives admins Tailscale SSH to the gateway and nodes, and nobody else', () => {
    expect(headscalePolicy(platform).policy.ssh).toEqual([
      { action: 'accept', src: ['group:admins'], dst: ['tag:gateway', 'tag:k3s'], users: ['root', 'autogroup:nonroot'] },
    ]);
  });

  it('follows another model: its admins, pool range and router', () => {
    const other = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const policy = parseHujson(renderHeadscalePolicy(other));
    expect(policy.groups).toEqual({ 'group:admins': ['admin@', 'oncall@'] });
    // 10.10.0.200-10.10.0.210 is not one CIDR: the route is the exact cover of the range.
    expect(poolCidrs(other)).toEqual(['10.10.0.200/29', '10.10.0.208/31', '10.10.0.210/32']);
    expect(Object.keys(policy.autoApprovers?.routes ?? {})).toEqual(poolCidrs(other));
    const mesh = meshOf(other);
    expect(mesh.acl.canReach(mesh.gateway, '10.10.0.200', INGRESS_GATEWAY_PORT)).toBe(true);
    expect(mesh.acl.canReach(mesh.gateway, '10.10.0.201', INGRESS_GATEWAY_PORT)).toBe(false);
  });

  it('fails on a selector it does not know (the evaluator is not permissive)', () => {
    const policy = { tagOwners: {}, acls: [{ action: 'accept', src: ['tag:nobody'], dst: ['*:*'] }] };
    expect(() => new AclEvaluator(policy, [gateway]).canReach(gateway, ingress, 443)).toThrow(/tag:nobody is not in tagOwners/);
    expect(() => new AclEvaluator({}, [])).toThrow(/no "acls"/);
  });
});
