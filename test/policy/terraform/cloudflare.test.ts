import { describe, expect, it } from 'vitest';
import { violationsOf } from '../fixtures';

const dns = (records: Record<string, Record<string, unknown>>) =>
  violationsOf([], { stacks: { dns: { resource: { cloudflare_dns_record: records } } } }).filter((v) => v.startsWith('CF-'));

describe('Cloudflare rules', () => {
  it('pass on proxied web hosts and a DNS-only mesh host', () => {
    expect(
      dns({
        git: { name: 'git.lumetium.com', type: 'A', content: '${var.ip}', proxied: true, ttl: 1 },
        headscale: { name: 'headscale.lumetium.com', type: 'A', content: '${var.ip}', proxied: false, ttl: 300 },
      }),
    ).toEqual([]);
  });

  it('CF-01 fails when a web host is not proxied', () => {
    expect(dns({ git: { name: 'git.lumetium.com', type: 'A', proxied: false, ttl: 300 } })).toEqual([
      'CF-01  cloudflare_dns_record/dns/git  git.lumetium.com serves web traffic but is not proxied; set proxied = true so the origin address stays hidden',
    ]);
  });

  it('CF-02 fails when a TXT record is proxied', () => {
    expect(dns({ txt: { name: 'x.lumetium.com', type: 'TXT', proxied: true, ttl: 1 } })).toEqual([
      'CF-02  cloudflare_dns_record/dns/txt  is a proxied TXT record; only A, AAAA and CNAME can be proxied',
    ]);
  });

  it('CF-03 fails on a proxied record with a fixed ttl and a DNS-only ttl out of range', () => {
    expect(
      dns({
        a: { name: 'git.lumetium.com', type: 'A', proxied: true, ttl: 300 },
        b: { name: 'headscale.lumetium.com', type: 'A', proxied: false, ttl: 30 },
      }),
    ).toEqual([
      'CF-03  cloudflare_dns_record/dns/a  is proxied with ttl 300; proxied records use ttl = 1 (automatic)',
      'CF-03  cloudflare_dns_record/dns/b  has ttl 30; use 1 (automatic) or 60-86400 seconds',
    ]);
  });

  it('CF-04 fails when records of one name disagree on proxying', () => {
    expect(
      dns({
        a: { name: 'x.lumetium.com', type: 'A', proxied: true, ttl: 1 },
        b: { name: 'x.lumetium.com', type: 'AAAA', proxied: false, ttl: 300 },
      }),
    ).toEqual(['CF-04  cloudflare_dns_record/dns/a  x.lumetium.com has proxied and DNS-only A/AAAA records; Cloudflare proxies all of them, make them agree']);
  });
});
