import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { DATABASES, POSTGRESQL_HOST, POSTGRESQL_PORT, REDIS_HOST, REDIS_PORT, databaseOf, rgwNetwork, rgwPort } from '../../../charts/lib/data-endpoints';

const withRgw = (endpoint: string): Platform => {
  const platform = loadDefaultPlatform();
  return { ...platform, ceph: { ...platform.ceph, rgw: { ...platform.ceph.rgw, endpoint } } };
};

describe('the data endpoints', () => {
  it('GIVEN the data services WHEN a client reads their endpoints THEN they are the Services in the databases namespace', () => {
    expect(`${POSTGRESQL_HOST}:${POSTGRESQL_PORT}`).toBe('postgresql.databases.svc:5432');
    expect(`${REDIS_HOST}:${REDIS_PORT}`).toBe('redis.databases.svc:6379');
  });

  it('GIVEN a declared client WHEN its database is looked up THEN it is the one its user owns', () => {
    expect(databaseOf('gitlab')).toEqual(DATABASES.find((d) => d.user === 'gitlab'));
    expect(databaseOf('harbor').database).toBe('registry');
  });

  it('fails when a client has no database of its own, naming the declared users', () => {
    expect(() => databaseOf('jenkins')).toThrow('postgresql: no database user "jenkins"; declared: gitlab, harbor');
  });

  it('GIVEN an RGW endpoint by address WHEN it becomes a network peer THEN exactly that address is allowed, on the URL port or the scheme default', () => {
    const byAddress = withRgw('https://192.168.10.40:7480');
    expect(rgwNetwork(byAddress).cidrs).toEqual([{ cidr: '192.168.10.40/32' }]);
    expect(rgwPort(byAddress)).toBe(7480);
    expect(rgwPort(withRgw('https://192.168.10.40'))).toBe(443);
    expect(rgwPort(withRgw('http://192.168.10.40'))).toBe(80);
  });

  it('GIVEN an RGW endpoint by name WHEN it becomes a network peer THEN the nodes LAN is allowed (the name resolves at run time)', () => {
    const platform = withRgw('https://s3.ceph.lan');
    expect(rgwNetwork(platform)).toEqual({ name: 'ceph rgw (LAN)', cidrs: [{ cidr: platform.cluster.lanCidr }] });
  });
});
