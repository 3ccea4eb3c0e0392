/**
 * Vault's own configuration as code: every file here is rendered from the model and the declared
 * secret consumers into the `vault-config` ConfigMap, and applied by the `vault-config` Job (an
 * Argo CD PostSync hook) and its hourly CronJob, logged in with the `vault-config` role:
 *  - the Vault server's configuration (integrated Raft storage, TLS listener, telemetry);
 *  - one read-only policy and one Kubernetes-auth role per consumer;
 *  - the admin policy and role of the Job itself;
 *  - `apply.sh` (the Job: KV v2 mount, audit device, auth config, policies, roles, and removal of
 *    roles and platform policies that are no longer declared), `bootstrap.sh` (run once by hand
 *    with the root token, README runbook), `load-kv.sh` (prompts for every declared secret)
 *    and `tls-reloader.sh` (the server's sidecar: SIGHUP on a renewed certificate).
 *
 * @see https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#create-update-role
 * @see https://developer.hashicorp.com/vault/docs/concepts/policies
 */
import { BACKUPS_NAMESPACE, RAFT_SNAPSHOT_ROLE, VAULT_SNAPSHOT } from '../lib/backup-jobs';
import {
  KUBERNETES_AUTH_MOUNT,
  KV_MOUNT,
  VAULT_AUDIENCE,
  VAULT_CONFIG_ROLE,
  VAULT_NAMESPACE,
  kvPutPath,
  secretPath,
  type SecretConsumer,
} from '../lib/vault';
import {
  GITLAB_GROUPS_CLAIM,
  GITLAB_USERNAME_CLAIM,
  OIDC_CLIENT_ID_KEY,
  OIDC_CLIENT_SECRET_KEY,
  OIDC_CLIENTS,
  OIDC_CLIENT_KEYS,
  OIDC_SCOPES,
  oidcClientDataPath,
  oidcClientKvPath,
  type SsoGroups,
} from '../lib/sso';

/** The role (and service account) the vault-config Job logs in with. */
export const ADMIN_ROLE = VAULT_CONFIG_ROLE;
/** Policies the platform manages carry this prefix; only those are removed when undeclared. */
export const MANAGED_POLICY_PREFIX = 'platform-';
export const ADMIN_POLICY = `${MANAGED_POLICY_PREFIX}vault-config`;
/** Where the ConfigMap is mounted, in the Job and in the Vault server (for bootstrap.sh). */
export const CONFIG_DIR = '/vault/platform';
/** Where the Job's projected service account token (audience `vault`) is mounted. */
export const JOB_TOKEN_DIR = '/var/run/secrets/vault';
/** Vault's listener certificate (cert-manager's Secret), as the server and the reloader see it. */
export const TLS_DIR = '/vault/tls';
/** The audit device: Vault's own log stream (stdout), collected with the pod's logs. */
export const AUDIT_DEVICE_PATH = 'stdout';
/** The admin token lives minutes: the Job needs seconds. */
const ADMIN_TOKEN_TTL = '5m';
const ADMIN_TOKEN_MAX_TTL = '15m';

/** The policy of the raft snapshot Job (charts/backup/application-backups.ts). */
export const RAFT_SNAPSHOT_POLICY = `${MANAGED_POLICY_PREFIX}${RAFT_SNAPSHOT_ROLE}`;
/** A snapshot of a small raft store takes seconds; the token lives only as long as the Job may. */
const RAFT_SNAPSHOT_TOKEN_TTL = '10m';
const RAFT_SNAPSHOT_TOKEN_MAX_TTL = '30m';

/** The mount of the OIDC auth method people sign in with (docs/decisions/0117-gitlab-as-oidc-provider.md). */
export const OIDC_AUTH_MOUNT = 'oidc';
/** Its one role, the method's default: GitLab. */
export const OIDC_ROLE = 'gitlab';
/** The role's file in the ConfigMap (not `role-*.json`: those are Kubernetes-auth roles). */
export const OIDC_ROLE_FILE = `oidc-role-${OIDC_ROLE}.json`;
/** The policies of people: administer secrets, or look at what exists without reading a value. */
export const SSO_ADMIN_POLICY = `${MANAGED_POLICY_PREFIX}sso-admin`;
export const SSO_VIEWER_POLICY = `${MANAGED_POLICY_PREFIX}sso-viewer`;
/** Vault's external groups, each the image of one GitLab group (its group alias). */
export const SSO_ADMIN_GROUP = 'sso-admins';
export const SSO_VIEWER_GROUP = 'sso-viewers';
/** A person's token: an hour, renewable for a working day; then they sign in again. */
const SSO_TOKEN_TTL = '1h';
const SSO_TOKEN_MAX_TTL = '8h';

/** The in-cluster API server as Vault, running in the cluster, reaches it for TokenReviews. */
const KUBERNETES_HOST = 'https://kubernetes.default.svc:443';

/**
 * What every Kubernetes-auth role takes from the model: the consumers' token lifetimes
 * (`vault.tokenTtl`, `vault.tokenMaxTtl`) and the pod network its tokens are bound to
 * (`cluster.podCidr`).
 */
export interface VaultAuthSettings {
  /** The pod network (`cluster.podCidr`): tokens work only from pod addresses. */
  readonly podCidr: string;
  /** A consumer token's lifetime (`vault.tokenTtl`), e.g. "15m". */
  readonly tokenTtl: string;
  /** A consumer token's longest renewed lifetime (`vault.tokenMaxTtl`), e.g. "4h". */
  readonly tokenMaxTtl: string;
  /** People sign in through GitLab (`sso`, `gitlabIssuer`, Vault's redirect URIs). */
  readonly oidc: VaultOidcSettings;
}

/** What the OIDC auth method takes from the model. */
export interface VaultOidcSettings {
  /** GitLab's issuer URL: its discovery document is `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** Vault's callbacks registered in GitLab (UI and CLI; `oidcRedirectUris('vault', host)`). */
  readonly redirectUris: readonly string[];
  /** The GitLab groups mapped to the admin and viewer policies (`sso`). */
  readonly groups: SsoGroups;
}

/**
 * The OIDC role as `vault write auth/oidc/role/gitlab @file` takes it: only direct members of
 * the two GitLab groups may sign in at all (`bound_claims` on `groups_direct`; a list claim
 * matches when any element does, hashicorp/vault-plugin-auth-jwt v0.26.3 claims.go
 * `validateBoundClaims`); the groups claim feeds the external groups, whose policies the token
 * gets. The entity alias is GitLab's `sub` (the user id: stable across renames), the user name
 * goes to the alias metadata for the audit log.
 * @see https://developer.hashicorp.com/vault/api-docs/auth/jwt#create-update-role
 */
export function oidcRole(oidc: VaultOidcSettings) {
  return {
    role_type: 'oidc',
    allowed_redirect_uris: [...oidc.redirectUris],
    user_claim: 'sub',
    groups_claim: GITLAB_GROUPS_CLAIM,
    // Vault always asks for `openid`; these are the others.
    oidc_scopes: OIDC_SCOPES.filter((scope) => scope !== 'openid'),
    bound_claims: { [GITLAB_GROUPS_CLAIM]: [oidc.groups.admin, oidc.groups.viewer] },
    claim_mappings: { [GITLAB_USERNAME_CLAIM]: 'username', email: 'email' },
    token_ttl: SSO_TOKEN_TTL,
    token_max_ttl: SSO_TOKEN_MAX_TTL,
  };
}

/**
 * What an administrator signed in through GitLab may do: manage every secret (write, read,
 * delete, restore versions), read the policies and roles Git renders, and block a person's
 * identity (README, revoking a person). Not: the configuration Git owns (auth methods, policies,
 * roles are rewritten hourly anyway), seal, raft snapshots or restores; those stay with the root
 * token of the break-glass procedure (docs/decisions/0118-break-glass-accounts.md).
 */
export function ssoAdminPolicy(): string {
  const blocks = [
    `# ${SSO_ADMIN_POLICY}: members of the GitLab admin group (rendered; do not edit in Vault).`,
    pathBlock(`${KV_MOUNT}/data/*`, ['create', 'read', 'update', 'patch', 'delete'], 'Every secret: write, read, delete.'),
    pathBlock(`${KV_MOUNT}/metadata/*`, ['read', 'list', 'delete']),
    pathBlock(`${KV_MOUNT}/delete/*`, ['update']),
    pathBlock(`${KV_MOUNT}/undelete/*`, ['update']),
    pathBlock(`${KV_MOUNT}/destroy/*`, ['update']),
    pathBlock('sys/policies/acl', ['list'], 'What Git renders, to look at.'),
    pathBlock('sys/policies/acl/*', ['read']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role`, ['list']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role/*`, ['read']),
    pathBlock('sys/auth', ['read']),
    pathBlock(`sys/auth/${OIDC_AUTH_MOUNT}`, ['read', 'sudo'], "Revoking a person: the method's accessor, the person's entity, its disabled flag."),
    pathBlock('identity/lookup/entity', ['update']),
    pathBlock('identity/entity/id/*', ['read', 'update']),
  ];
  return `${blocks.join('\n\n')}\n`;
}

/** What a viewer may do: see which secrets, policies and roles exist, never a secret's value. */
export function ssoViewerPolicy(): string {
  const blocks = [
    `# ${SSO_VIEWER_POLICY}: members of the GitLab viewer group (rendered; do not edit in Vault).`,
    pathBlock(`${KV_MOUNT}/metadata/*`, ['read', 'list'], 'Names and versions of secrets, not their values.'),
    pathBlock('sys/policies/acl', ['list']),
    pathBlock('sys/policies/acl/*', ['read']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role`, ['list']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role/*`, ['read']),
    pathBlock('sys/auth', ['read']),
  ];
  return `${blocks.join('\n\n')}\n`;
}

/** Vault's two external groups: name, policy, and the GitLab group (full path) aliased to it. */
export function ssoGroupMappings(groups: SsoGroups): readonly { group: string; policy: string; gitlabGroup: string }[] {
  return [
    { group: SSO_ADMIN_GROUP, policy: SSO_ADMIN_POLICY, gitlabGroup: groups.admin },
    { group: SSO_VIEWER_GROUP, policy: SSO_VIEWER_POLICY, gitlabGroup: groups.viewer },
  ];
}

/** A Kubernetes-auth role as `vault write auth/kubernetes/role/<name> @role.json` takes it. */
export interface KubernetesAuthRole {
  readonly bound_service_account_names: readonly string[];
  readonly bound_service_account_namespaces: readonly string[];
  readonly audience: string;
  readonly alias_name_source: 'serviceaccount_uid';
  readonly token_policies: readonly string[];
  readonly token_ttl: string;
  readonly token_max_ttl: string;
  /** Tokens work only from pod addresses: a leaked token is useless outside the cluster. */
  readonly token_bound_cidrs: readonly string[];
}

export function consumerPolicyName(consumer: SecretConsumer): string {
  return `${MANAGED_POLICY_PREFIX}${consumer.name}`;
}

function pathBlock(path: string, capabilities: readonly string[], comment?: string): string {
  const lines = comment ? [`# ${comment}`] : [];
  lines.push(`path "${path}" {`, `  capabilities = [${capabilities.map((c) => `"${c}"`).join(', ')}]`, '}');
  return lines.join('\n');
}

/**
 * Read on exactly the entries the consumer declares (no wildcard): nothing of another consumer,
 * nor an undeclared entry of its own, is readable.
 */
export function consumerPolicy(consumer: SecretConsumer): string {
  const header = `# ${consumerPolicyName(consumer)}: what ${consumer.namespace}/${consumer.serviceAccount} may read (rendered; do not edit in Vault).`;
  // Several files may come from one entry (Grafana's OAuth client id and secret): one block each path.
  const paths = [...new Set(consumer.secrets.map((secret) => secretPath(consumer, secret)))];
  return `${[header, ...paths.map((path) => pathBlock(path, ['read']))].join('\n\n')}\n`;
}

/** What apply.sh does, and nothing more. */
export function adminPolicy(): string {
  const blocks = [
    `# ${ADMIN_POLICY}: the vault-config Job applies Vault's configuration from Git (rendered; do not edit in Vault).`,
    pathBlock('sys/mounts', ['read'], `The KV version 2 engine at ${KV_MOUNT}/.`),
    pathBlock(`sys/mounts/${KV_MOUNT}`, ['create', 'read', 'update']),
    pathBlock('sys/auth', ['read'], 'The auth methods (the Kubernetes method itself is enabled by bootstrap.sh).'),
    pathBlock('sys/audit', ['read', 'sudo'], 'The audit device: listing and enabling audit devices need sudo.'),
    pathBlock(`sys/audit/${AUDIT_DEVICE_PATH}`, ['create', 'read', 'update', 'sudo']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/config`, ['create', 'read', 'update'], 'The Kubernetes auth method: its configuration and one role per consumer.'),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role`, ['list']),
    pathBlock(`auth/${KUBERNETES_AUTH_MOUNT}/role/*`, ['create', 'read', 'update', 'delete']),
    pathBlock('sys/policies/acl', ['list'], 'ACL policies: declared ones are written, undeclared platform ones removed.'),
    pathBlock('sys/policies/acl/*', ['create', 'read', 'update', 'delete']),
    pathBlock(oidcClientDataPath('vault'), ['read'], "Sign-in through GitLab: Vault's own OAuth application, the OIDC method (enabling one needs sudo), its role and the two external groups."),
    pathBlock(`sys/auth/${OIDC_AUTH_MOUNT}`, ['create', 'read', 'update', 'sudo']),
    pathBlock(`auth/${OIDC_AUTH_MOUNT}/config`, ['create', 'read', 'update']),
    pathBlock(`auth/${OIDC_AUTH_MOUNT}/role/${OIDC_ROLE}`, ['create', 'read', 'update']),
    pathBlock(`identity/group/name/${SSO_ADMIN_GROUP}`, ['create', 'read', 'update']),
    pathBlock(`identity/group/name/${SSO_VIEWER_GROUP}`, ['create', 'read', 'update']),
    pathBlock('identity/group-alias', ['create', 'update']),
    pathBlock('identity/group-alias/id/*', ['read', 'update']),
  ];
  return `${blocks.join('\n\n')}\n`;
}

/**
 * `vault operator raft snapshot save` is a GET of `/v1/sys/storage/raft/snapshot` (hashicorp/vault
 * api/sys_raft.go, `RaftSnapshot`), which a policy grants with `read` on that path. Nothing else:
 * not restore (`sys/storage/raft/snapshot-force`), not a secret.
 */
export function raftSnapshotPolicy(): string {
  const header = `# ${RAFT_SNAPSHOT_POLICY}: the daily raft snapshot of ${BACKUPS_NAMESPACE}/${VAULT_SNAPSHOT} (rendered; do not edit in Vault).`;
  return `${[header, pathBlock('sys/storage/raft/snapshot', ['read'])].join('\n\n')}\n`;
}

function role(serviceAccount: string, namespace: string, policy: string, ttl: string, maxTtl: string, podCidr: string): KubernetesAuthRole {
  return {
    bound_service_account_names: [serviceAccount],
    bound_service_account_namespaces: [namespace],
    audience: VAULT_AUDIENCE,
    alias_name_source: 'serviceaccount_uid',
    token_policies: [policy],
    token_ttl: ttl,
    token_max_ttl: maxTtl,
    token_bound_cidrs: [podCidr],
  };
}

export function consumerRole(consumer: SecretConsumer, auth: VaultAuthSettings): KubernetesAuthRole {
  return role(consumer.serviceAccount, consumer.namespace, consumerPolicyName(consumer), auth.tokenTtl, auth.tokenMaxTtl, auth.podCidr);
}

export function adminRole(auth: VaultAuthSettings): KubernetesAuthRole {
  return role(ADMIN_ROLE, VAULT_NAMESPACE, ADMIN_POLICY, ADMIN_TOKEN_TTL, ADMIN_TOKEN_MAX_TTL, auth.podCidr);
}

/** The snapshot Job's role: its own service account only, a short token, the snapshot policy only. */
export function raftSnapshotRole(auth: VaultAuthSettings): KubernetesAuthRole {
  return role(VAULT_SNAPSHOT, BACKUPS_NAMESPACE, RAFT_SNAPSHOT_POLICY, RAFT_SNAPSHOT_TOKEN_TTL, RAFT_SNAPSHOT_TOKEN_MAX_TTL, auth.podCidr);
}

/**
 * The server's configuration: integrated storage (Raft) on its volume, TLS on the listener with
 * cert-manager's certificate, unauthenticated access to /v1/sys/metrics only, the Kubernetes
 * service registration (labels the active pod) and Prometheus telemetry.
 */
export function serverConfig(): string {
  return `# Vault server configuration (rendered from charts/security/vault-config.ts).
ui = true
# Integrated storage keeps its data in memory-mapped files; mlock is not needed and needs IPC_LOCK.
disable_mlock = true

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "${TLS_DIR}/tls.crt"
  tls_key_file    = "${TLS_DIR}/tls.key"
  tls_min_version = "tls12"

  # Prometheus scrapes /v1/sys/metrics without a token; every other path needs one.
  telemetry {
    unauthenticated_metrics_access = true
  }
}

storage "raft" {
  path = "/vault/data"
}

service_registration "kubernetes" {}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
`;
}

/** The Job's script: idempotent, safe to run on every sync and every hour. */
export function applyScript(oidc: VaultOidcSettings): string {
  const vaultClient = oidcClientKvPath('vault');
  const groups = ssoGroupMappings(oidc.groups).map((m) => `external_group ${m.group} ${m.policy} ${m.gitlabGroup}`).join('\n  ');
  return `#!/bin/sh
# Applies Vault's configuration from this folder (the vault-config ConfigMap), idempotently:
# run by the vault-config Job on every Argo CD sync of vault and hourly by its CronJob, so
# changes made by hand in Vault are reverted. Rendered by charts/security/vault-config.ts.
set -eu
cd "${CONFIG_DIR}"

VAULT_TOKEN=$(vault write -field=token auth/${KUBERNETES_AUTH_MOUNT}/login role=${ADMIN_ROLE} jwt=@${JOB_TOKEN_DIR}/token)
export VAULT_TOKEN

# The audit device first, so that everything below is audited.
if ! vault audit list -format=json | grep -q '"${AUDIT_DEVICE_PATH}/"'; then
  vault audit enable -path=${AUDIT_DEVICE_PATH} file file_path=stdout
fi

# Every consumer's secrets live in the KV version 2 engine at ${KV_MOUNT}/.
if vault read -format=json sys/mounts/${KV_MOUNT} >/dev/null 2>&1; then
  if ! vault read -format=json sys/mounts/${KV_MOUNT} | grep -q '"version": "2"'; then
    echo "${KV_MOUNT}/ is mounted but is not KV version 2; upgrade it by hand (vault kv enable-versioning ${KV_MOUNT}/)" >&2
    exit 1
  fi
else
  vault secrets enable -path=${KV_MOUNT} -version=2 kv
fi

# Vault reviews service account tokens with its own token, against the in-cluster API server.
vault write auth/${KUBERNETES_AUTH_MOUNT}/config kubernetes_host=${KUBERNETES_HOST} >/dev/null

for file in policy-*.hcl; do
  name=\${file#policy-}
  vault policy write "\${name%.hcl}" "$file" >/dev/null
  echo "policy \${name%.hcl} written"
done

for file in role-*.json; do
  name=\${file#role-}
  vault write "auth/${KUBERNETES_AUTH_MOUNT}/role/\${name%.json}" @"$file" >/dev/null
  echo "role \${name%.json} written"
done

# Git is the source of truth: roles and platform policies it no longer declares are removed.
roles=$(vault list -format=yaml auth/${KUBERNETES_AUTH_MOUNT}/role)
for name in $(printf '%s\\n' "$roles" | sed -n 's/^- //p'); do
  if [ ! -f "role-$name.json" ]; then
    vault delete "auth/${KUBERNETES_AUTH_MOUNT}/role/$name" >/dev/null
    echo "role $name removed"
  fi
done
policies=$(vault policy list)
for name in $(printf '%s\\n' "$policies" | grep '^${MANAGED_POLICY_PREFIX}' || true); do
  if [ ! -f "policy-$name.hcl" ]; then
    vault policy delete "$name" >/dev/null
    echo "policy $name removed"
  fi
done

# An external group (its policy) and its alias: the GitLab group whose members it holds.
external_group() {
  name=$1
  policy=$2
  gitlab_group=$3
  vault write "identity/group/name/$name" type=external policies="$policy" >/dev/null
  id=$(vault read -field=id "identity/group/name/$name")
  current=$(vault read -format=json -field=alias "identity/group/name/$name")
  alias_id=$(printf '%s\\n' "$current" | sed -n 's/^  "id": "\\(.*\\)",*$/\\1/p')
  alias_name=$(printf '%s\\n' "$current" | sed -n 's/^  "name": "\\(.*\\)",*$/\\1/p')
  if [ -z "$alias_id" ]; then
    vault write identity/group-alias name="$gitlab_group" mount_accessor="$accessor" canonical_id="$id" >/dev/null
    echo "group $name: GitLab group $gitlab_group"
  elif [ "$alias_name" != "$gitlab_group" ]; then
    vault write "identity/group-alias/id/$alias_id" name="$gitlab_group" mount_accessor="$accessor" canonical_id="$id" >/dev/null
    echo "group $name: GitLab group $gitlab_group (was $alias_name)"
  fi
}

# Sign-in through GitLab (docs/decisions/0117-gitlab-as-oidc-provider.md): the OIDC method, its
# role and the external groups that give GitLab groups their policies. Vault checks the issuer's
# discovery document when the method is configured, and GitLab issues Vault's application only
# once it runs: until ${vaultClient} is loaded (README, Single sign-on) this part is skipped, and
# it comes last so that nothing above ever waits for GitLab.
sso() {
  if ! client_id=$(vault kv get -field=${OIDC_CLIENT_ID_KEY} ${vaultClient} 2>&1); then
    case $client_id in
      *'No value found'*)
        echo "oidc skipped: ${vaultClient} is not loaded yet (load-kv.sh sso, once GitLab runs)"
        return 0
        ;;
    esac
    printf '%s\\n' "$client_id" >&2
    exit 1
  fi
  if ! vault auth list -format=json | grep -q '"${OIDC_AUTH_MOUNT}/"'; then
    vault auth enable -path=${OIDC_AUTH_MOUNT} -listing-visibility=unauth oidc >/dev/null
    echo "auth method ${OIDC_AUTH_MOUNT} enabled"
  fi
  # The client secret goes through a pipe, never on a command line.
  vault kv get -field=${OIDC_CLIENT_SECRET_KEY} ${vaultClient} | vault write auth/${OIDC_AUTH_MOUNT}/config \\
    oidc_discovery_url=${oidc.issuer} oidc_client_id="$client_id" oidc_client_secret=- default_role=${OIDC_ROLE} >/dev/null
  vault write auth/${OIDC_AUTH_MOUNT}/role/${OIDC_ROLE} @${OIDC_ROLE_FILE} >/dev/null
  accessor=$(vault read -field=accessor sys/auth/${OIDC_AUTH_MOUNT})
  ${groups}
  echo "oidc configured: ${oidc.groups.admin} administer, ${oidc.groups.viewer} view"
}
sso

vault token revoke -self >/dev/null
echo "Vault configuration applied"
`;
}

/** Run once by hand with the root token, after `vault operator init` and unsealing. */
export function bootstrapScript(): string {
  return `#!/bin/sh
# Vault bootstrap, once, as root, after \`vault operator init\` and unsealing (README runbook):
#   kubectl -n ${VAULT_NAMESPACE} exec -ti vault-0 -c vault -- sh ${CONFIG_DIR}/bootstrap.sh
# Enables the audit device, the KV engine and the Kubernetes auth method with the role the
# vault-config Job logs in with; the Job applies everything else from Git. The root token stays
# in this pod's token helper for load-kv.sh; revoke it afterwards (vault token revoke -self).
set -eu
cd "${CONFIG_DIR}"

echo "Log in with the root token from vault operator init:"
vault login -no-print

if ! vault audit list -format=json 2>/dev/null | grep -q '"${AUDIT_DEVICE_PATH}/"'; then
  vault audit enable -path=${AUDIT_DEVICE_PATH} file file_path=stdout
fi
if ! vault read sys/mounts/${KV_MOUNT} >/dev/null 2>&1; then
  vault secrets enable -path=${KV_MOUNT} -version=2 kv
fi
if ! vault auth list -format=json | grep -q '"${KUBERNETES_AUTH_MOUNT}/"'; then
  vault auth enable -path=${KUBERNETES_AUTH_MOUNT} kubernetes
fi
vault write auth/${KUBERNETES_AUTH_MOUNT}/config kubernetes_host=${KUBERNETES_HOST}
vault policy write ${ADMIN_POLICY} policy-${ADMIN_POLICY}.hcl
vault write auth/${KUBERNETES_AUTH_MOUNT}/role/${ADMIN_ROLE} @role-${ADMIN_ROLE}.json

cat <<'EOF'
Bootstrap done: the vault-config Job can now log in and apply the rest.
Next, still logged in as root:
  sh ${CONFIG_DIR}/load-kv.sh   # prompts for every declared secret
  vault token revoke -self          # then forget the root token
EOF
`;
}

/** Prompts for every key of every declared secret (hidden input) and writes them to Vault. */
export function loadSecretsScript(consumers: readonly SecretConsumer[]): string {
  // An entry shared by several consumers (a `path`) is prompted for once, by its first reader.
  const seen = new Set<string>();
  // GitLab's OAuth applications, one per client, all under the name `sso` (load-kv.sh sso); GitLab
  // issues them, so they are loaded once it runs (README, Single sign-on through GitLab).
  const sso = OIDC_CLIENTS.map((client) => oidcClientKvPath(client)).map((path) => {
    seen.add(path);
    return `issued gitlab sso ${path} ${OIDC_CLIENT_KEYS.join(' ')}`;
  });
  const consumerCalls = [...consumers]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((consumer) => consumer.secrets.map((secret) => ({ consumer, secret, path: kvPutPath(consumer, secret) })))
    .filter(({ path }) => !seen.has(path) && seen.add(path) !== undefined)
    // A value another service issues (a GitLab token) cannot exist at bootstrap: loaded later, by name.
    .map(({ consumer, secret, path }) =>
      secret.issuedBy ? `issued ${secret.issuedBy} ${consumer.name} ${path} ${secret.keys.join(' ')}` : `load ${consumer.name} ${path} ${secret.keys.join(' ')}`,
    );
  const calls = [...sso, ...consumerCalls];
  return `#!/bin/sh
# Writes the declared secrets into Vault, prompting for each value without echoing it. Run with
# a token that may write them (the root token at bootstrap, README runbook):
#   kubectl -n ${VAULT_NAMESPACE} exec -ti vault-0 -c vault -- sh ${CONFIG_DIR}/load-kv.sh [consumer]
# Values travel through a pipe, never through a command line. Rendered from the declared consumers.
set -eu
only=\${1:-}

load() {
  consumer=$1
  path=$2
  shift 2
  if [ -n "$only" ] && [ "$only" != "$consumer" ]; then
    return 0
  fi
  verb='put'
  for key in "$@"; do
    printf '%s %s: ' "$path" "$key" >&2
    if [ -t 0 ]; then stty -echo; fi
    IFS= read -r value
    if [ -t 0 ]; then stty echo; fi
    printf '\\n' >&2
    printf '%s' "$value" | vault kv "$verb" "$path" "$key=-" >/dev/null
    verb='patch'
  done
  echo "$path written" >&2
}

# An entry whose value a running service issues: loaded only when its consumer is named.
issued() {
  issuer=$1
  shift
  if [ -z "$only" ]; then
    echo "$2 skipped: $issuer issues it; once $issuer runs: sh ${CONFIG_DIR}/load-kv.sh $1" >&2
    return 0
  fi
  load "$@"
}

${calls.join('\n')}
`;
}

/**
 * The Vault server's sidecar: Vault reads its listener certificate only at start and on SIGHUP,
 * and cert-manager renews the Secret weeks before it expires. Shares the pod's process namespace.
 */
export function tlsReloaderScript(): string {
  return `#!/bin/sh
# Sends SIGHUP to the Vault server when cert-manager has renewed its certificate: Vault reads
# ${TLS_DIR}/tls.crt only at start and on SIGHUP. Rendered by charts/security/vault-config.ts.
set -eu
cert=${TLS_DIR}/tls.crt
checksum() {
  sha256sum "$cert" | cut -d ' ' -f 1
}
last=$(checksum)
while sleep 60; do
  touch /tmp/alive
  now=$(checksum)
  if [ "$now" = "$last" ]; then
    continue
  fi
  for pid in $(pidof vault); do
    # Only the server: probes and kubectl exec sessions run \`vault\` too.
    if tr '\\000' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ' server '; then
      kill -HUP "$pid"
      echo "certificate renewed: sent SIGHUP to the Vault server ($pid)"
    fi
  done
  last=$now
done
`;
}

/** The ConfigMap's files (key = file name). */
export function configFiles(auth: VaultAuthSettings, consumers: readonly SecretConsumer[]): Record<string, string> {
  const files: Record<string, string> = {
    'apply.sh': applyScript(auth.oidc),
    'bootstrap.sh': bootstrapScript(),
    'load-kv.sh': loadSecretsScript(consumers),
    'tls-reloader.sh': tlsReloaderScript(),
    [`policy-${ADMIN_POLICY}.hcl`]: adminPolicy(),
    [`role-${ADMIN_ROLE}.json`]: `${JSON.stringify(adminRole(auth), null, 2)}\n`,
    [`policy-${RAFT_SNAPSHOT_POLICY}.hcl`]: raftSnapshotPolicy(),
    [`role-${RAFT_SNAPSHOT_ROLE}.json`]: `${JSON.stringify(raftSnapshotRole(auth), null, 2)}\n`,
    [`policy-${SSO_ADMIN_POLICY}.hcl`]: ssoAdminPolicy(),
    [`policy-${SSO_VIEWER_POLICY}.hcl`]: ssoViewerPolicy(),
    [OIDC_ROLE_FILE]: `${JSON.stringify(oidcRole(auth.oidc), null, 2)}\n`,
  };
  for (const consumer of consumers) {
    if (consumer.name === RAFT_SNAPSHOT_ROLE) {
      throw new Error(`vault consumer ${consumer.name}: the name is reserved for the raft snapshot role (charts/lib/backup-jobs.ts); choose another`);
    }
    files[`policy-${consumerPolicyName(consumer)}.hcl`] = consumerPolicy(consumer);
    files[`role-${consumer.name}.json`] = `${JSON.stringify(consumerRole(consumer, auth), null, 2)}\n`;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
