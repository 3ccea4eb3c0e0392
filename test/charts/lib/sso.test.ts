import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { oidcClientDataPath, oidcClientKvPath, oidcClients, ssoGroups } from '../../../charts/lib/sso';

const platform = loadDefaultPlatform();

describe('the SSO contract', () => {
  it('GIVEN the seed WHEN every client is derived THEN each has its own application, Vault entry and callbacks on its own host only (the CLIs on localhost)', () => {
    const clients = oidcClients(platform);
    expect(clients.map((c) => c.applicationName)).toEqual(['platform-argocd', 'platform-grafana', 'platform-harbor', 'platform-jenkins', 'platform-vault']);
    for (const client of clients) {
      expect(client.kvPath).toBe(oidcClientKvPath(client.name));
      expect(oidcClientDataPath(client.name)).toBe(client.kvPath.replace('secret/', 'secret/data/'));
      // The browser's callback is HTTPS on the service's host; only a CLI listener may be plain HTTP, on localhost.
      expect(new URL(client.redirectUris[0]).origin).toBe(`https://${client.host}`);
      for (const uri of client.redirectUris.slice(1)) expect(new URL(uri).hostname).toBe('localhost');
    }
    expect(ssoGroups(platform)).toEqual({ admin: platform.sso.adminGroup, viewer: platform.sso.viewerGroup });
  });
  // A client or the provider without a host is refused by the model (config/schema.ts; fixtures
  // test/fixtures/invalid/grafana-without-host.yaml and gitlab-without-host.yaml).
});
