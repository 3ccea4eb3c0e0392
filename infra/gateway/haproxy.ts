/**
 * `dist/gateway/haproxy.cfg`: the gateway's only public entry.
 *
 * - 443 (TCP): routed by SNI without terminating TLS, so certificates stay in the cluster
 *   (cert-manager). The model's public hosts go to the ingress controller's MetalLB address over
 *   the mesh, and only from Cloudflare (their records are proxied: nobody may bypass Cloudflare),
 *   Mesh-only hosts (exposure `mesh`, decision 0099) have no route: their SNI is rejected like
 *   any undeclared name, so the public path never reaches their Ingresses.
 *   to the controller's gateway port with a PROXY v2 header (the client address, decision 0069).
 *   The Headscale host goes to Headscale on loopback, from anywhere (Tailscale clients connect
 *   directly). Any other name, or no TLS at all, is rejected: there is no default backend.
 * - 80 (HTTP): ACME HTTP-01 challenges of the public hosts go to the ingress controller's port 80;
 *   everything else of those hosts is redirected to HTTPS (same host, no port); other hosts get 404.
 * - Prometheus exporter and stats page on the gateway's mesh address only.
 * @see https://docs.haproxy.org/2.6/configuration.html
 */
import type { Platform } from '../../config';
import { CLOUDFLARE_IPV4_RANGES } from '../../config/cloudflare';
import { publicHosts, type PublicHost } from '../lib/hosts';
import { GATEWAY_PORTS, HEADSCALE_METRICS_PATH, INGRESS_GATEWAY_PORT } from '../../config/gateway';

/** Connection limits sized for a small instance (t3.small: 2 GiB); each connection costs ~35 KiB. */
const MAX_CONNECTIONS = { global: 20000, https: 15000, http: 4000, metrics: 100 } as const;

/**
 * The `public_host` ACL of a frontend: one line per public host. A model whose hosts are all
 * mesh-only still needs the ACL defined (HAProxy refuses a rule naming an unknown ACL), as one that
 * never matches (`always_false`, 2.6 manual section 7.3.2).
 */
function publicHostAcls(hosts: readonly PublicHost[], fetch: string): string[] {
  if (hosts.length === 0) return ['    # no public host: every host of the model is mesh-only', '    acl public_host always_false'];
  return hosts.flatMap(({ service, host }) => [`    # ${service}`, `    acl public_host ${fetch} -i ${host}`]);
}

export function renderHaproxyConfig(platform: Platform): string {
  const hosts = publicHosts(platform);
  const ingress = platform.cluster.ingressAddress;
  const headscaleHost = platform.mesh.headscaleHost;
  // HAProxy's health checks need a name the ingress controller has a certificate for.
  const checkSni = hosts[0]?.host ?? headscaleHost;
  const lines = [
    '# Rendered by the platform synthesizer from the platform model (config/): do not edit on the gateway.',
    '# Routes every public host of the model; mesh-only and undeclared hosts are rejected.',
    'global',
    // Under systemd (Debian's unit runs `haproxy -Ws`) stdout goes to the journal.
    '    log stdout format raw local0 info',
    '    chroot /var/lib/haproxy',
    '    user haproxy',
    '    group haproxy',
    '    stats socket /run/haproxy/admin.sock mode 660 level admin',
    `    maxconn ${MAX_CONNECTIONS.global}`,
    '    ssl-default-server-options ssl-min-ver TLSv1.2',
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    option tcplog',
    '    option dontlognull',
    '    timeout connect 5s',
    '    timeout client 60s',
    '    timeout server 60s',
    '    timeout client-fin 30s',
    '    timeout server-fin 30s',
    // WebSockets, Argo CD streams and Tailscale's long-lived control and DERP connections.
    '    timeout tunnel 1h',
    '    timeout http-request 10s',
    '    timeout http-keep-alive 10s',
    '    timeout queue 30s',
    // Offline `haproxy -c` and a boot before the mesh is up must not fail on name resolution.
    '    default-server init-addr libc,none inter 5s fall 3 rise 2',
    '',
    'frontend https',
    `    bind :${GATEWAY_PORTS.https}`,
    `    maxconn ${MAX_CONNECTIONS.https}`,
    '    tcp-request inspect-delay 5s',
    `    acl from_cloudflare src ${CLOUDFLARE_IPV4_RANGES.join(' ')}`,
    `    acl headscale_host req.ssl_sni -i ${headscaleHost}`,
    ...publicHostAcls(hosts, 'req.ssl_sni'),
    '    tcp-request content reject unless { req.ssl_hello_type 1 }',
    '    tcp-request content reject if public_host !from_cloudflare',
    '    tcp-request content reject unless public_host or headscale_host',
    '    use_backend ingress_https if public_host',
    '    use_backend headscale if headscale_host',
    '',
    'frontend http',
    '    mode http',
    `    bind :${GATEWAY_PORTS.http}`,
    `    maxconn ${MAX_CONNECTIONS.http}`,
    '    option httplog',
    `    acl from_cloudflare src ${CLOUDFLARE_IPV4_RANGES.join(' ')}`,
    '    acl acme_challenge path_beg /.well-known/acme-challenge/',
    ...publicHostAcls(hosts, 'req.hdr(host),field(1,:)'),
    '    http-request deny deny_status 403 unless from_cloudflare',
    '    http-request deny deny_status 404 unless public_host',
    // Not `redirect scheme https`: HAProxy 2.6 copies the Host header verbatim, so `Host: x:80`
    // would send the client to https://x:80 (TLS on port 80). The host without its port, then the
    // path with its query (`pathq`), per the 2.6 manual's `http-request redirect` and `pathq`.
    '    http-request redirect location https://%[req.hdr(host),field(1,:),lower]%[pathq] code 301 unless acme_challenge',
    '    use_backend ingress_http if acme_challenge',
    '',
    'frontend metrics',
    '    mode http',
    // Only the mesh reaches it; 'transparent' (IP_TRANSPARENT or IP_FREEBIND) lets HAProxy start before tailscale0 has the address.
    `    bind ${platform.gateway.meshAddress}:${GATEWAY_PORTS.metrics} transparent`,
    `    maxconn ${MAX_CONNECTIONS.metrics}`,
    // Prometheus scrapes every 30 s: log only failures.
    '    option httplog',
    '    option dontlog-normal',
    '    http-request use-service prometheus-exporter if { path /metrics }',
    // Headscale serves its metrics on loopback only; this path reaches them from the mesh.
    `    use_backend headscale_metrics if { path ${HEADSCALE_METRICS_PATH} }`,
    '    stats enable',
    '    stats uri /stats',
    '    stats refresh 30s',
    '',
    '# The ingress controller, reached over the mesh through the subnet route of the MetalLB pool.',
    'backend ingress_https',
    // Its gateway port, the only one that requires the PROXY protocol (decision 0069): the header
    // carries the Cloudflare address the connection came from. Health checks send it too (no
    // `port`/`addr` on the line: see `check-send-proxy` in the 2.6 manual), and a TLS handshake
    // proves the controller serves, not only that the address answers.
    `    server ingress ${ingress}:${INGRESS_GATEWAY_PORT} send-proxy-v2 check check-ssl verify none check-sni ${checkSni}`,
    '',
    'backend ingress_http',
    '    mode http',
    `    server ingress ${ingress}:${GATEWAY_PORTS.http} check`,
    '',
    '# Headscale terminates its own TLS (Let\'s Encrypt through TLS-ALPN-01, which arrives here).',
    'backend headscale',
    `    server headscale 127.0.0.1:${GATEWAY_PORTS.headscale} check`,
    '',
    'backend headscale_metrics',
    '    mode http',
    '    http-request set-path /metrics',
    `    server headscale 127.0.0.1:${GATEWAY_PORTS.headscaleMetrics} check`,
  ];
  return `${lines.join('\n')}\n`;
}
