/**
 * Single sign-on's shared facts (issue 16 item 2): GitLab is the OIDC provider of Argo CD,
 * Grafana, Harbor, Jenkins and Vault. Each of those charts reads its client's facts from here, so
 * the redirect URIs registered in GitLab and the ones each client sends cannot disagree.
 *
 * Contract between the parts of issue 16 item 2: this module owns the client list and the Vault
 * paths; the charts only consume them.
 */
import type { Platform } from '../../config';

/** The clients that sign in through GitLab. */
export const OIDC_CLIENTS = ['argocd', 'grafana', 'harbor', 'jenkins', 'vault'] as const;
export type OidcClientName = (typeof OIDC_CLIENTS)[number];

/**
 * Where a client's OAuth application id and secret live in Vault (KV v2 mount `secret`): keys
 * `client_id` and `client_secret`, written by the runbook after creating the GitLab application.
 */
export function oidcClientKvPath(client: OidcClientName): string {
  return `secret/sso/${client}`;
}

/** GitLab's issuer URL: discovery at `<issuer>/.well-known/openid-configuration`. */
export function gitlabIssuer(platform: Platform): string {
  const host = platform.services.gitlab.host;
  if (!host) throw new Error('services.gitlab.host: GitLab is the OIDC provider, so it needs a host; set services.gitlab.host');
  return `https://${host}`;
}
