/**
 * Headscale on the gateway: `dist/gateway/headscale/config.yaml` and its ACL policy
 * `dist/gateway/headscale/acl.hujson`.
 *
 * Headscale terminates its own TLS on loopback with a Let's Encrypt certificate (TLS-ALPN-01:
 * the validation arrives on 443, which HAProxy passes through by SNI), and runs the embedded DERP
 * relay (STUN on UDP 3478) so no third-party relay carries the platform's traffic. State (SQLite,
 * the Noise and DERP private keys, the certificate cache) lives in /var/lib/headscale, which is
 * the gateway's persistent state volume; the keys are generated at first start, never in Git.
 * @see https://headscale.net/stable/ref/configuration/
 */
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { K3S_API_PORT } from '../../config/topology';
import { MESH_TAGS, poolCidrs } from './model';
import { meshHosts } from '../lib/hosts';
import { GATEWAY_PORTS, INGRESS_GATEWAY_PORT } from '../../config/gateway';

export const HEADSCALE_PATHS = {
  config: '/etc/headscale/config.yaml',
  policy: '/etc/headscale/acl.hujson',
  state: '/var/lib/headscale',
} as const;

const HEADER = '# Rendered by the platform synthesizer from the platform model (config/): do not edit on the gateway.\n';

export function renderHeadscaleConfig(platform: Platform): string {
  const { mesh } = platform;
  const state = HEADSCALE_PATHS.state;
  const config = {
    server_url: `https://${mesh.headscaleHost}`,
    listen_addr: `127.0.0.1:${GATEWAY_PORTS.headscale}`,
    metrics_listen_addr: `127.0.0.1:${GATEWAY_PORTS.headscaleMetrics}`,
    grpc_listen_addr: `127.0.0.1:${GATEWAY_PORTS.headscaleGrpc}`,
    grpc_allow_insecure: false,
    noise: { private_key_path: `${state}/noise_private.key` },
    // Sequential allocation: the gateway registers first and gets the first address.
    prefixes: { v4: mesh.cidr, allocation: 'sequential' },
    derp: {
      server: {
        enabled: true,
        region_id: 999,
        region_code: 'platform',
        region_name: 'Platform gateway',
        verify_clients: true,
        stun_listen_addr: `0.0.0.0:${GATEWAY_PORTS.stun}`,
        private_key_path: `${state}/derp_server_private.key`,
        automatically_add_embedded_derp_region: true,
      },
      // Only our own relay: no third-party DERP servers see the mesh's metadata.
      urls: [],
      paths: [],
      auto_update_enabled: false,
      update_frequency: '24h',
    },
    // Versions are pinned and bumped through Git; the gateway does not phone home.
    disable_check_updates: true,
    database: {
      type: 'sqlite',
      sqlite: { path: `${state}/db.sqlite`, write_ahead_log: true },
    },
    acme_url: 'https://acme-v02.api.letsencrypt.org/directory',
    acme_email: platform.acmeEmail,
    tls_letsencrypt_hostname: mesh.headscaleHost,
    tls_letsencrypt_cache_dir: `${state}/cache`,
    tls_letsencrypt_challenge_type: 'TLS-ALPN-01',
    log: { format: 'text', level: 'info' },
    policy: { mode: 'file', path: HEADSCALE_PATHS.policy },
    dns: {
      // Also what serves the mesh-only hosts (extra_records, decision 0100) to admin devices.
      magic_dns: true,
      base_domain: mesh.baseDomain,
      // The k3s nodes keep their own resolvers: MagicDNS adds mesh names without taking over DNS.
      override_local_dns: false,
      nameservers: { global: [], split: {} },
      search_domains: [],
      extra_records: meshDnsRecords(platform),
    },
    unix_socket: '/var/run/headscale/headscale.sock',
    unix_socket_permission: '0770',
    logtail: { enabled: false },
    randomize_client_port: false,
  };
  return HEADER + toYaml(config);
}

/** One entry of Headscale's `dns.extra_records`. */
export interface MeshDnsRecord {
  readonly name: string;
  readonly type: 'A';
  readonly value: string;
}

/**
 * The mesh-only hosts as MagicDNS records (decision 0100): each name answers with the ingress
 * controller's MetalLB address, which mesh devices reach through the subnet router's route of the
 * pool (`mesh.subnetRouter`). Public hosts are not listed: the internet's answer (Cloudflare) is
 * the one every device should use for them.
 *
 * Upstream, read at juanfont/headscale v0.29.2 (newest tag in the local mirror; the pinned 0.29.4
 * is a patch release of it): config-example.yaml and docs/ref/dns.md say the records are served
 * through MagicDNS and that Tailscale processes only A and AAAA records; hscontrol/types/config.go
 * (`dnsToTailcfgDNS`) sends them to every client as the DNS config's ExtraRecords. A name outside
 * the MagicDNS base domain is allowed: Tailscale's client answers such records from its own
 * resolver (100.100.100.100), which it then puts in front of the system's (tailscale/tailscale
 * net/dns/manager.go, `hasHostsWithoutSplitDNSRoutes`). Static entries are read at start: a
 * changed config reaches the gateway as a new cloud-init, which replaces the instance.
 */
export function meshDnsRecords(platform: Platform): MeshDnsRecord[] {
  return meshHosts(platform).map(({ host }) => ({ name: host, type: 'A', value: platform.cluster.ingressAddress }));
}

/** One rule of a Tailscale/Headscale policy. */
export interface AclRule {
  readonly action: 'accept';
  readonly src: readonly string[];
  readonly proto?: 'tcp' | 'udp';
  readonly dst: readonly string[];
}

export interface SshRule {
  readonly action: 'accept';
  readonly src: readonly string[];
  readonly dst: readonly string[];
  readonly users: readonly string[];
}

/** The policy as data: what `acl.hujson` holds, without its comments. */
export interface HeadscalePolicy {
  readonly groups: Record<string, string[]>;
  readonly tagOwners: Record<string, string[]>;
  readonly hosts: Record<string, string>;
  readonly autoApprovers: { readonly routes: Record<string, string[]> };
  readonly acls: readonly AclRule[];
  readonly ssh: readonly SshRule[];
}

const ADMINS = 'group:admins';

/** SSH on the gateway and the nodes: Tailscale SSH where a device enables it, OpenSSH otherwise. */
export const SSH_PORT = 22;

/** Host aliases of the policy (`hosts`): single addresses the flows name. */
export const MESH_HOSTS = {
  /** The ingress controller's MetalLB address, reached through the subnet router. */
  ingress: 'ingress',
  /** The k3s server node's mesh address: the Kubernetes API listens there. */
  apiServer: 'k3s-api',
} as const;

/**
 * One declared flow of the mesh: who (`src`) may open what (`dst`, `host:ports`), and why. Each
 * becomes exactly one ACL rule, preceded in `acl.hujson` by its purpose. Nothing else is accepted.
 */
export interface MeshFlow {
  readonly purpose: string;
  readonly src: readonly string[];
  /** @default - every protocol (Headscale's default); set it for a TCP-only service */
  readonly proto?: 'tcp' | 'udp';
  readonly dst: readonly string[];
}

/**
 * Who reaches what on the mesh (decision 0080); everything not declared here is denied.
 * Admins get what the runbook uses from their own devices (the web hosts, kubectl, SSH, HAProxy's
 * statistics) and nothing else: no kubelet, no Vault or database ports on the nodes, no other pool
 * address, no other admin's device. Machines get the flows the platform runs on.
 * Syntax: juanfont/headscale docs/ref/policy.md and hscontrol/policy/v2 (read at v0.29.2, the
 * newest tag in the local mirror; the pinned 0.29.4 is a patch release of the same policy engine).
 */
export function meshFlows(): MeshFlow[] {
  const { http, https, metrics } = GATEWAY_PORTS;
  const flows: MeshFlow[] = [
    {
      purpose: `Admins open the platform's web hosts at the ingress controller (${http} only redirects to ${https}).`,
      src: [ADMINS],
      proto: 'tcp',
      dst: [`${MESH_HOSTS.ingress}:${http},${https}`],
    },
    {
      purpose: 'Admins run kubectl (apply, exec, port-forward) against the Kubernetes API on the k3s server.',
      src: [ADMINS],
      proto: 'tcp',
      dst: [`${MESH_HOSTS.apiServer}:${K3S_API_PORT}`],
    },
    {
      purpose: 'Admins administer the gateway and the nodes over SSH; the "ssh" section says as whom.',
      src: [ADMINS],
      proto: 'tcp',
      dst: [`${MESH_TAGS.gateway}:${SSH_PORT}`, `${MESH_TAGS.node}:${SSH_PORT}`],
    },
    {
      purpose: "Admins read HAProxy's statistics page (/stats) on the gateway's mesh listener.",
      src: [ADMINS],
      proto: 'tcp',
      dst: [`${MESH_TAGS.gateway}:${metrics}`],
    },
    {
      purpose: 'The gateway reaches only the ingress controller, on the ports HAProxy forwards.',
      src: [MESH_TAGS.gateway],
      proto: 'tcp',
      dst: [`${MESH_HOSTS.ingress}:${http},${INGRESS_GATEWAY_PORT}`],
    },
    {
      purpose: 'Cluster nodes reach each other: k3s runs over the mesh (API, kubelet, flannel VXLAN, host-network listeners; decision 0080).',
      src: [MESH_TAGS.node],
      dst: [`${MESH_TAGS.node}:*`],
    },
    {
      purpose: 'Prometheus (on the cluster) scrapes HAProxy and Headscale on the gateway.',
      src: [MESH_TAGS.node],
      proto: 'tcp',
      dst: [`${MESH_TAGS.gateway}:${metrics}`],
    },
  ];
  return flows;
}

function serverMeshAddress(platform: Platform): string {
  const server = Object.values(platform.nodes).find((node) => node.role === 'server');
  if (!server) throw new Error('nodes: no node has role "server"; the Kubernetes API address of the mesh policy is unknown');
  return server.meshAddress;
}

/** The policy as data, with the purpose of each ACL rule (in the same order) for the comments. */
export function headscalePolicy(platform: Platform): { policy: HeadscalePolicy; comments: string[] } {
  const pool = poolCidrs(platform);
  const flows = meshFlows();
  const rules: [string, AclRule][] = flows.map(({ purpose, src, proto, dst }) => [purpose, { action: 'accept', src, ...(proto ? { proto } : {}), dst }]);
  const policy: HeadscalePolicy = {
    groups: { [ADMINS]: platform.mesh.admins.map((user) => `${user}@`) },
    // Only admins may put the platform's tags on a device (through tagged pre-auth keys).
    tagOwners: Object.fromEntries(Object.values(MESH_TAGS).map((tag) => [tag, [ADMINS]])),
    hosts: { [MESH_HOSTS.ingress]: `${platform.cluster.ingressAddress}/32`, [MESH_HOSTS.apiServer]: `${serverMeshAddress(platform)}/32` },
    // The subnet router's advertised pool is approved without a manual step; no other route is.
    autoApprovers: { routes: Object.fromEntries(pool.map((cidr) => [cidr, [MESH_TAGS.subnetRouter]])) },
    acls: rules.map(([, rule]) => rule),
    // Administration of the gateway and nodes: Tailscale SSH over the mesh, no port 22 on the internet.
    ssh: [{ action: 'accept', src: [ADMINS], dst: [MESH_TAGS.gateway, MESH_TAGS.node], users: ['root', 'autogroup:nonroot'] }],
  };
  return { policy, comments: rules.map(([comment]) => comment) };
}

/** The policy as HuJSON (JSON with comments), each rule preceded by why it exists. */
export function renderHeadscalePolicy(platform: Platform): string {
  const { policy, comments } = headscalePolicy(platform);
  const json = (value: unknown) => JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  const acls = policy.acls.map((rule, i) => `    // ${comments[i]}\n    ${JSON.stringify(rule)}`).join(',\n');
  return [
    '// Rendered by the platform synthesizer from the platform model (config/): do not edit on the gateway.',
    '// Headscale ACL policy: every connection not accepted below is denied.',
    '{',
    `  "groups": ${json(policy.groups)},`,
    `  "tagOwners": ${json(policy.tagOwners)},`,
    `  "hosts": ${json(policy.hosts)},`,
    `  "autoApprovers": ${json(policy.autoApprovers)},`,
    '  "acls": [',
    acls,
    '  ],',
    `  "ssh": ${json(policy.ssh)}`,
    '}',
    '',
  ].join('\n');
}
