/**
 * Single sign-on's shared facts (issue 16 item 2): GitLab is the OIDC provider of Argo CD,
 * Grafana, Harbor, Jenkins and Vault. Each of those charts reads its client's facts from here, so
 * the redirect URIs registered in GitLab and the ones each client sends cannot disagree.
 *
 * Contract between the parts of issue 16 item 2: this module owns the client list, the redirect
 * URIs, the scopes, the groups claim, the role groups and the Vault paths; the charts only
 * consume them (docs/decisions/0117-gitlab-as-oidc-provider.md).
 *
 * @see https://docs.gitlab.com/18.8/integration/openid_connect_provider/
 * @see https://docs.gitlab.com/18.8/integration/oauth_provider/
 */
import type { Platform } from '../../config';

/** The clients that sign in through GitLab. */
export const OIDC_CLIENTS = ['argocd', 'grafana', 'harbor', 'jenkins', 'vault'] as const;
export type OidcClientName = (typeof OIDC_CLIENTS)[number];

/**
 * The scopes every GitLab application is created with and every client asks for: `openid` makes
 * the OAuth application an OIDC client, `profile` and `email` add the name, user name and address.
 * No API scope: a client's token can read nothing of GitLab.
 */
export const OIDC_SCOPES = ['openid', 'profile', 'email'] as const;

/**
 * The claim that carries a person's groups. GitLab puts `groups_direct` (the full paths of the
 * groups the user is a direct member of) in the ID token; `groups` (inherited memberships too)
 * only in `/oauth/userinfo`. Every client reads the ID token, so roles follow direct membership
 * of the model's groups (`sso.adminGroup`, `sso.viewerGroup`).
 * @see https://docs.gitlab.com/18.8/integration/openid_connect_provider/#shared-information
 */
export const GITLAB_GROUPS_CLAIM = 'groups_direct';
/** The claim with the user's GitLab user name, the name each client shows and audits. */
export const GITLAB_USERNAME_CLAIM = 'preferred_username';

/** The keys of a client's Vault entry (`oidcClientKvPath`). */
export const OIDC_CLIENT_ID_KEY = 'client_id';
export const OIDC_CLIENT_SECRET_KEY = 'client_secret';
export const OIDC_CLIENT_KEYS = [OIDC_CLIENT_ID_KEY, OIDC_CLIENT_SECRET_KEY] as const;

/**
 * Where a client's OAuth application id and secret live in Vault (KV v2 mount `secret`): keys
 * `client_id` and `client_secret`, written by the runbook after creating the GitLab application.
 */
export function oidcClientKvPath(client: OidcClientName): string {
  return `secret/sso/${client}`;
}

/** The same entry as a KV v2 data path (what policies and agent templates name). */
export function oidcClientDataPath(client: OidcClientName): string {
  return oidcClientKvPath(client).replace(/^secret\//, 'secret/data/');
}

/** GitLab's issuer URL: discovery at `<issuer>/.well-known/openid-configuration`. */
export function gitlabIssuer(platform: Platform): string {
  // The schema requires GitLab's host (config/schema.ts checkSourceAndRegistry).
  return `https://${platform.services.gitlab.host!}`;
}

/** GitLab's OIDC endpoints (doorkeeper's routes, as GitLab's discovery document lists them). */
export function gitlabEndpoints(issuer: string) {
  return {
    authorization: `${issuer}/oauth/authorize`,
    token: `${issuer}/oauth/token`,
    userinfo: `${issuer}/oauth/userinfo`,
    discovery: `${issuer}/.well-known/openid-configuration`,
  } as const;
}

/**
 * Where GitLab sends the browser back after sign-in, per client: the path each client serves its
 * callback on, at the pinned version, on the host the model renders for it.
 *  - argocd: `/auth/callback` (argo-cd v3.5.1 common/common.go `CallbackEndpoint`);
 *  - grafana: `/login/generic_oauth` (the generic OAuth provider's login route);
 *  - harbor: `/c/oidc/callback`;
 *  - jenkins: `/securityRealm/finishLogin` (the oic-auth plugin's security realm);
 *  - vault: the UI's `/ui/vault/auth/oidc/oidc/callback` and the CLI's `vault login -method=oidc`
 *    listener on localhost:8250 (`/oidc/callback`; Vault's server redeems the code, with the
 *    secret, so a confidential application serves both).
 * @see https://developer.hashicorp.com/vault/docs/auth/jwt#redirect-uris
 * @see https://grafana.com/docs/grafana/latest/setup-grafana/configure-access/configure-authentication/generic-oauth/
 */
export function oidcRedirectUris(client: OidcClientName, host: string): readonly string[] {
  const base = `https://${host}`;
  switch (client) {
    case 'argocd':
      // Not the CLI's localhost:8085 listener: `argocd login --sso` redeems the code without a
      // client secret (argo-cd v3.5.1 pkg/apiclient/apiclient.go `OIDCConfig`, PKCE only), which
      // GitLab refuses for a confidential application; operators use `argocd login --core`.
      return [`${base}/auth/callback`];
    case 'grafana':
      return [`${base}/login/generic_oauth`];
    case 'harbor':
      return [`${base}/c/oidc/callback`];
    case 'jenkins':
      return [`${base}/securityRealm/finishLogin`];
    case 'vault':
      return [`${base}/ui/vault/auth/oidc/oidc/callback`, 'http://localhost:8250/oidc/callback'];
  }
}

/**
 * The public host of a client's UI (`services.<client>.host`), which its redirect URIs name. The
 * schema requires it of every client (config/schema.ts).
 */
export function oidcClientHost(platform: Platform, client: OidcClientName): string {
  return platform.services[client].host!;
}

/** One GitLab OAuth application, as the runbook creates it and its client uses it. */
export interface OidcClient {
  readonly name: OidcClientName;
  /** The application's name in GitLab (Admin area > Applications). */
  readonly applicationName: string;
  /** The client's public host. */
  readonly host: string;
  /** The callback URIs registered in GitLab, the browser's first. */
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  /** `vault kv put` path of its id and secret. */
  readonly kvPath: string;
}

export function oidcClient(platform: Platform, client: OidcClientName): OidcClient {
  const host = oidcClientHost(platform, client);
  return {
    name: client,
    applicationName: `platform-${client}`,
    host,
    redirectUris: oidcRedirectUris(client, host),
    scopes: OIDC_SCOPES,
    kvPath: oidcClientKvPath(client),
  };
}

/** Every client the model signs in through GitLab, in OIDC_CLIENTS order. */
export function oidcClients(platform: Platform): OidcClient[] {
  return OIDC_CLIENTS.map((client) => oidcClient(platform, client));
}

/** The GitLab groups (full paths) whose direct members get each role (`sso` in the model). */
export interface SsoGroups {
  /** Administers every service. */
  readonly admin: string;
  /** Reads, changes nothing. */
  readonly viewer: string;
}

export function ssoGroups(platform: Platform): SsoGroups {
  return { admin: platform.sso.adminGroup, viewer: platform.sso.viewerGroup };
}
