/**
 * Single sign-on through GitLab (issue 16 item 2, docs/decisions/0117-gitlab-as-oidc-provider.md):
 * the redirect URI each rendered service sends GitLab, the one GitLab has registered for it (the
 * README's runbook creates the applications) and the host the render serves the service on must
 * be one and the same. A whole-render property: it reads the rendered charts, not our functions.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../config';
import { OIDC_CLIENTS, OIDC_SCOPES, oidcClients, oidcRedirectUris, type OidcClientName } from '../charts/lib/sso';
import type { KubeObject } from '../charts/lib/service';
import { INGRESS_CONTROLLER, NAME_LABEL, type Workload } from '../charts/lib/network';
import { SERVER } from '../charts/platform/argocd';
import { GRAFANA, LOKI } from '../charts/observability/workloads';
import { VAULT_SERVER } from '../charts/lib/vault';
import { CORE as HARBOR_CORE } from '../charts/registry/harbor';
import { JENKINS } from '../charts/build/names';
import { NetworkPolicyEvaluator, type Endpoint } from './support/network-evaluator';
import { defaultRender, kubeObjects, ROOT } from './support/render';

const platform = loadDefaultPlatform();
const objects = kubeObjects(defaultRender()).map(({ object }) => object);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

const find = (kind: string, namespace: string, name: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);
  if (!found) throw new Error(`the render has no ${kind} ${namespace}/${name}`);
  return found;
};

/** The host the render serves a client's UI on: the Ingress for the host the model names. */
function renderedHost(client: OidcClientName): string {
  const host = platform.services[client].host;
  const ingress = objects.find((o) => o.kind === 'Ingress' && (o.spec as any).rules.some((r: { host: string }) => r.host === host));
  if (!ingress) throw new Error(`no rendered Ingress serves ${client}'s host ${host}`);
  return host!;
}

/** grafana.ini as an INI reader sees it (python's configparser, no interpolation). */
function readIni(text: string): Record<string, Record<string, string>> {
  const script = 'import configparser,json,sys\nc=configparser.RawConfigParser()\nc.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(c[s]) for s in c.sections()}))';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

/** What each rendered client sends GitLab as its redirect URIs, read from its rendered configuration. */
function renderedRedirectUris(): Partial<Record<OidcClientName, readonly string[]>> {
  // Argo CD: the chart sets argocd-cm `url` to https://<global.domain> unless configs.cm.url is
  // given (argo-helm argo-cd templates/_helpers.tpl); the server adds /auth/callback.
  const argocd = (find('Application', 'argocd', 'argocd').spec as any).sources[0].helm.valuesObject;
  const argocdUrl: string = argocd.configs.cm.url ?? `https://${argocd.global.domain}`;
  // Grafana: <root_url>login/generic_oauth, root_url ending in a slash.
  const ini = readIni((find('ConfigMap', 'monitoring', 'grafana-config') as any).data['grafana.ini']);
  expect(ini['auth.generic_oauth'].enabled).toBe('true');
  // Vault: the OIDC role's allowed_redirect_uris, applied by the vault-config Job.
  const vaultRole = JSON.parse((find('ConfigMap', 'vault', 'vault-config') as any).data['oidc-role-gitlab.json']);
  // Harbor: <externalURL>/c/oidc/callback (goharbor/harbor v2.15.1 src/lib/config/userconfig.go),
  // with OIDC switched on by the setup Job's configuration.
  const harbor = (find('Application', 'argocd', 'harbor').spec as any).sources[0].helm.valuesObject;
  const harborSetup = JSON.parse((find('ConfigMap', 'harbor', 'harbor-setup-config') as any).data['harbor.json']);
  expect(harborSetup.oidc.configuration.auth_mode).toBe('oidc_auth');
  // Jenkins: <root URL>securityRealm/finishLogin (oic-auth's OicSecurityRealm), root URL from JCasC.
  const jenkins = parse((find('ConfigMap', 'jenkins', 'jenkins-config') as any).data['jenkins.yaml']);
  expect(jenkins.jenkins.securityRealm).toHaveProperty('oic');
  return {
    argocd: [`${argocdUrl}/auth/callback`],
    grafana: [`${ini.server.root_url}login/generic_oauth`],
    harbor: [`${harbor.externalURL}/c/oidc/callback`],
    jenkins: [`${jenkins.unclassified.location.url}securityRealm/finishLogin`],
    vault: vaultRole.allowed_redirect_uris,
  };
}

/** The applications the README's runbook creates in GitLab: `app <name> <redirect URI>...`. */
function registeredApplications(text: string): Map<string, readonly string[]> {
  return new Map([...text.matchAll(/^app (platform-[a-z]+) (.+)$/gm)].map((m) => [m[1], m[2].trim().split(/\s+/)]));
}

describe('single sign-on through GitLab', () => {
  it('GIVEN the seed render WHEN each client\'s redirect URIs are read from its rendered configuration THEN they are the ones for the host the render serves it on', () => {
    const rendered = renderedRedirectUris();
    expect(Object.keys(rendered).sort()).toEqual([...OIDC_CLIENTS].sort());
    for (const [client, uris] of Object.entries(rendered) as [OidcClientName, readonly string[]][]) {
      expect(uris, client).toEqual(oidcRedirectUris(client, renderedHost(client)));
    }
  });

  it('GIVEN the README WHEN the applications it registers in GitLab are read THEN there is one per client, with exactly the rendered redirect URIs and the scopes the clients ask for', () => {
    const registered = registeredApplications(readme);
    expect([...registered.keys()].sort()).toEqual(oidcClients(platform).map((c) => c.applicationName).sort());
    for (const client of OIDC_CLIENTS) {
      expect(registered.get(`platform-${client}`), client).toEqual(oidcRedirectUris(client, renderedHost(client)));
    }
    const rendered = renderedRedirectUris();
    for (const [client, uris] of Object.entries(rendered)) expect(registered.get(`platform-${client}`), client).toEqual(uris);
    expect(readme).toContain(`--data-urlencode "scopes=${OIDC_SCOPES.join(' ')}"`);
    // Each application's id and secret go to the Vault entry its client reads.
    for (const client of OIDC_CLIENTS) expect(readme).toContain(`vault kv put secret/sso/${client} client_id="$(app_id)" client_secret="$(app_secret)"`);
  });

  it('GIVEN a README that registers a stale host WHEN compared THEN the mismatch is named (the check is not a no-op)', () => {
    const stale = readme.replace('app platform-grafana https://grafana.lumetium.com/login/generic_oauth', 'app platform-grafana https://grafana.example.org/login/generic_oauth');
    expect(stale).not.toBe(readme);
    expect(registeredApplications(stale).get('platform-grafana')).not.toEqual(renderedRedirectUris().grafana);
  });

  it('GIVEN the rendered NetworkPolicies WHEN each server-side client calls GitLab through the ingress controller THEN it is allowed, and a pod without that connection is not', () => {
    const evaluator = new NetworkPolicyEvaluator(objects);
    let address = 10;
    // Harbor's chart labels its pods `component: <name>` (the workload's selectorLabel).
    const pod = (workload: Workload): Endpoint => ({ pod: { namespace: workload.namespace, labels: { [workload.selectorLabel ?? NAME_LABEL]: workload.name }, ip: `10.42.0.${address++}` } });
    const ingress = pod(INGRESS_CONTROLLER);
    const https = INGRESS_CONTROLLER.ports!.https;
    for (const client of [SERVER, GRAFANA, VAULT_SERVER, HARBOR_CORE, JENKINS]) expect(evaluator.allows({ from: pod(client), to: ingress, port: https }), client.name).toBe(true);
    expect(evaluator.allows({ from: pod(LOKI), to: ingress, port: https })).toBe(false);
  });

  it('GIVEN the seed render WHEN Argo CD\'s values are read THEN the client secret is a reference to the labelled Secret, never a value', () => {
    const argocd = (find('Application', 'argocd', 'argocd').spec as any).sources[0].helm.valuesObject;
    const oidc = parse(argocd.configs.cm['oidc.config']);
    expect(oidc.issuer).toBe(`https://${platform.services.gitlab.host}`);
    expect(oidc.clientSecret).toMatch(/^\$[a-z0-9-]+:client_secret$/);
    expect(argocd.configs.cm['admin.enabled']).toBe('false');
  });
});
