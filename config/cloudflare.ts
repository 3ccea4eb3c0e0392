/**
 * Cloudflare's published IPv4 ranges: the only sources of proxied web traffic (here, below both
 * the gateway and the cluster's ingress controller that trust them). The gateway's
 * security group admits port 80 only from them, and HAProxy routes the proxied hosts on 443 only
 * from them, so nobody can reach the origin around Cloudflare. They change rarely; compare with
 * the published list when you upgrade anything on the gateway.
 * @see https://www.cloudflare.com/ips-v4
 */
export const CLOUDFLARE_IPV4_RANGES = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
] as const;
