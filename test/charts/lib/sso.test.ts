import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { gitlabIssuer, oidcClient, oidcClientDataPath, oidcClientKvPath, oidcClients, ssoGroups } from '../../../charts/lib/sso';

const platform = loadDefaultPlatform();
const without = (service: 'gitlab' | 'grafana'): Platform => ({ ...platform, services: { ...platform.services, [service]: { ...platform.services[service], host: undefined } } });

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

  it('fails when a client has no host, naming the model path', () => {
    expect(() => oidcClient(without('grafana'), 'grafana')).toThrow(
      'services.grafana.host: (missing): grafana signs in through GitLab, whose application redirects to that host; set it, e.g. "grafana.lumetium.com"',
    );
  });

  it('fails when GitLab, the provider, has no host', () => {
    expect(() => gitlabIssuer(without('gitlab'))).toThrow('services.gitlab.host: GitLab is the OIDC provider, so it needs a host; set services.gitlab.host');
  });
});
