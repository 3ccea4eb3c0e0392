/**
 * The platform model: one typed tree that every layer (cdk8s charts, cdktf stacks, gateway and
 * node files) is rendered from. The zod schema is the single definition; the TypeScript types are
 * inferred from it. Every object is strict: an unknown key is an error, never a silent default.
 *
 * Field-level rules live on the fields; rules that relate two fields (hosts under the domain,
 * duplicate hosts, overlapping networks, placement on existing nodes) live in `crossFieldRules`.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import { cronProblem } from './cron';
import { intToIpv4, ipv4ToInt, isIpv4, parseAddressRange, parseCidr, rangeContains, rangesOverlap, type Ipv4Range } from './net';
import { capacityProblem } from './capacity';
import { NODE_POD_SUBNET_PREFIX } from './topology';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const dnsLabel = (what: string) =>
  z.string().regex(DNS_LABEL, {
    error: `must be a DNS label (lowercase letters, digits and '-', at most 63 characters), e.g. "${what}"`,
  });

const fqdn = z.string().regex(FQDN, {
  error: 'must be a fully qualified domain name in lowercase, e.g. "example.com"',
});

const ipv4 = z.string().refine(isIpv4, { error: 'must be an IPv4 address, e.g. "100.64.0.1"' });

const cidr = z.string().refine((value) => parseCidr(value) !== undefined, {
  error: 'must be an IPv4 CIDR with the host bits clear, e.g. "10.0.0.0/16"',
});

const addressRange = z.string().refine((value) => parseAddressRange(value) !== undefined, {
  error: 'must be an IPv4 CIDR ("192.168.10.240/28") or an inclusive range ("192.168.10.240-192.168.10.250")',
});

/** A schedule as Velero's cron parser reads it (config/cron.ts). */
const cron = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `is not a cron schedule Velero accepts: ${problem}` });
});

const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/[^\s]*)?$/, {
  error: 'must be an https:// URL, e.g. "https://git.example.com/platform/platform.git"',
});

const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[a-z]{2,63}$/, { error: 'must be an e-mail address, e.g. "ops@example.com"' });

/** Where the rendered manifests are pulled from by Argo CD. */
const GitSchema = z.strictObject({
  /** The repository that holds this project, with `dist/` committed. */
  repoURL: httpsUrl,
  /** The branch Argo CD follows. */
  targetRevision: z.string().regex(/^[A-Za-z0-9._/-]+$/, { error: 'must be a branch or tag name, e.g. "main"' }),
});

const NodeSchema = z.strictObject({
  /** k3s role: exactly one `server` (the control plane), the others `agent`. */
  role: z.enum(['server', 'agent'], { error: 'must be "server" or "agent"' }),
  /** The node's address on the Headscale mesh (`tailscale0`); k3s and flannel use it. */
  meshAddress: ipv4,
  /** The node's address on its local network, where MetalLB answers ARP. */
  lanAddress: ipv4,
});

/** A Headscale (mesh) user name; the ACL policy writes it as `name@`. */
const meshUser = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, {
  error: 'must be a Headscale user name (lowercase letters, digits, ".", "_" and "-"), e.g. "ops"',
});

const MeshSchema = z.strictObject({
  /** The Headscale IPv4 prefix; must lie inside Tailscale's 100.64.0.0/10 (Headscale refuses others). */
  cidr,
  /** The interface the mesh client creates; flannel runs over it. */
  interface: z.string().regex(/^[a-z][a-z0-9]{0,14}$/, { error: 'must be a network interface name, e.g. "tailscale0"' }),
  /** The public name of the Headscale control server on the gateway (DNS-only in Cloudflare). */
  headscaleHost: fqdn,
  /**
   * MagicDNS base domain: mesh devices are `<hostname>.<baseDomain>` inside the mesh. Headscale
   * requires that `headscaleHost` is not under it.
   * @see https://headscale.net/stable/ref/dns/
   */
  baseDomain: fqdn,
  /** Headscale users who administer the platform: their devices reach everything on the mesh. */
  admins: z.array(meshUser).min(1, { error: 'must name at least one admin user' }),
  /**
   * The node (a key of `nodes`) that advertises the MetalLB pool as a Headscale subnet route, so
   * the gateway reaches the ingress controller's address over the mesh.
   */
  subnetRouter: z.string(),
});

/** The gateway's machine image: looked up by owner and name (newest match) when first created. */
const AmiSchema = z.strictObject({
  /** The AWS account that publishes the image (Debian's own account by default). */
  owner: z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id, e.g. "136693071363" (Debian)' }),
  /** A name filter (`*` wildcards), e.g. "debian-12-amd64-*". */
  name: z.string().regex(/^[A-Za-z0-9*?._-]+$/, { error: 'must be an AMI name filter such as "debian-12-amd64-*"' }),
});

const GatewaySchema = z.strictObject({
  /** AWS region of the gateway. */
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region, e.g. "eu-central-1"' }),
  /** EC2 instance type (x86_64: the pinned Headscale package is amd64). */
  instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type, e.g. "t3.small"' }),
  vpcCidr: cidr,
  /** The gateway's public subnet; must lie inside `vpcCidr`. */
  subnetCidr: cidr,
  /**
   * The gateway's address on the mesh: the first address of `mesh.cidr`, because the gateway is
   * the first device its own Headscale registers (sequential allocation).
   */
  meshAddress: ipv4,
  /** The S3 bucket that holds Terraform state for every stack. */
  stateBucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, {
    error: 'must be an S3 bucket name without dots (3-63 lowercase letters, digits and "-")',
  }),
  ami: AmiSchema,
  /** The Cloudflare zone that holds the public records. @default - `domain` */
  cloudflareZone: fqdn.optional(),
});

const ClusterSchema = z.strictObject({
  /** The local network the nodes sit on (MetalLB's L2 segment). */
  lanCidr: cidr,
  /** k3s `cluster-cidr`: one /24 of it per node (NODE_POD_SUBNET_PREFIX). */
  podCidr: cidr.refine((value) => Number(value.split('/')[1]) <= NODE_POD_SUBNET_PREFIX, {
    error: `leaves no /${NODE_POD_SUBNET_PREFIX} per node; k3s needs a cluster-cidr of /${NODE_POD_SUBNET_PREFIX} or larger, e.g. "10.42.0.0/16"`,
  }),
  /** k3s `service-cidr`. */
  serviceCidr: cidr,
  /** The addresses MetalLB may hand out; inside `lanCidr`, clear of every node address. */
  loadBalancerPool: addressRange,
  /** The fixed MetalLB address of the ingress controller, inside the pool; HAProxy targets it. */
  ingressAddress: ipv4,
});

const CephSchema = z.strictObject({
  /** The Ceph cluster fsid. */
  clusterId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    error: 'must be the Ceph fsid (a UUID), as printed by `ceph fsid`',
  }),
  /** Monitor endpoints, `address:port`. */
  monitors: z
    .array(z.string().regex(/^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/, { error: 'must be "address:port", e.g. "192.168.10.21:6789"' }))
    .min(1, { error: 'must list at least one monitor' }),
  /** The RBD pool for Kubernetes volumes. */
  rbdPool: dnsLabel('kubernetes'),
  /**
   * Raw capacity of the external cluster (all OSDs): the capacity rule (config/capacity.ts) fits
   * every volume and its snapshots below `nearfullRatio` of `capacityGiB / replication`.
   */
  capacityGiB: z.number().int().positive({ error: 'must be a positive whole number of GiB' }),
  /**
   * Copies the RBD pool keeps of each object (`ceph osd pool get <pool> size`).
   * @default 3 - Ceph's `osd_pool_default_size`
   * @see https://docs.ceph.com/en/latest/rados/configuration/pool-pg-config-ref/
   */
  replication: z.number().int().min(1, { error: 'must be at least 1 copy' }).max(10, { error: 'must be at most 10 copies' }).default(3),
  /**
   * The fill level at which Ceph warns (`mon_osd_nearfull_ratio`); at `mon_osd_full_ratio` (0.95)
   * it stops every write. The platform plans to stay below the warning.
   * @default 0.85 - Ceph's default
   * @see https://docs.ceph.com/en/latest/rados/configuration/mon-config-ref/#storage-capacity
   */
  nearfullRatio: z.number().gt(0, { error: 'must be above 0' }).lt(0.95, { error: 'must be below 0.95, the ratio at which Ceph stops writes' }).default(0.85),
  /** The RADOS Gateway (S3) endpoint and bucket that hold backups. */
  rgw: z.strictObject({
    endpoint: z.string().regex(/^https?:\/\/[^\s/]+$/, { error: 'must be an http(s) URL without a path, e.g. "http://192.168.10.21:7480"' }),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name without dots' }),
  }),
});

/**
 * Who can reach a host. `public`: a proxied Cloudflare record and an HAProxy route on the gateway,
 * so anyone on the internet (through Cloudflare) reaches it. `mesh`: neither; only devices on the
 * Headscale mesh resolve it (Headscale's DNS `extra_records`) and reach it over the subnet route to
 * the ingress controller, and the cluster's own clients reach it through its in-cluster names
 * (coredns-custom). Either way its certificate comes from cert-manager by DNS-01, which needs no
 * public route. docs/decisions/0099-host-exposure.md.
 */
export const EXPOSURES = ['public', 'mesh'] as const;
export type Exposure = (typeof EXPOSURES)[number];
/** A host's exposure when the model does not say: closed by default (zero trust). */
export const DEFAULT_EXPOSURE: Exposure = 'mesh';

const exposure = z.enum(EXPOSURES, {
  error: 'must be "public" (Cloudflare record and gateway route) or "mesh" (Headscale mesh and cluster only)',
});

/** A platform service: where it runs and, if it has one, its host name and who reaches it. */
const ServiceSchema = z.strictObject({
  /** The node it is placed on (a key of `nodes`). */
  node: z.string(),
  /** Its host name (under `domain`); absent for internal services. */
  host: z.string().optional(),
  /**
   * Who reaches `host`: `public` (internet, through Cloudflare and the gateway) or `mesh`
   * (Headscale mesh and the cluster only). Only with `host`.
   * @default 'mesh'
   */
  exposure: exposure.optional(),
});

/** The platform services of the seed, by name. Fixed keys: a typo is an error. */
export const SERVICE_NAMES = [
  'argocd',
  'gitlab',
  'gitaly',
  'postgresql',
  'redis',
  'jenkins',
  'harbor',
  'prometheus',
  'alertmanager',
  'grafana',
  'loki',
  'vault',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const ServicesSchema = z.strictObject(
  Object.fromEntries(SERVICE_NAMES.map((name) => [name, ServiceSchema])) as Record<ServiceName, typeof ServiceSchema>,
);

const BackupsSchema = z.strictObject({
  /** When the daily backup runs (cron, cluster time zone UTC). */
  schedule: cron,
  /** How long each backup is kept. */
  retentionDays: z.number().int().min(1, { error: 'must be at least 1 day' }).max(3650, { error: 'must be at most 3650 days' }),
  /**
   * The share of each backed-up volume rewritten per day, on average. The capacity rule reserves
   * claims × this for the snapshots of a running backup (the data mover deletes each once it is
   * uploaded) and, without `offsite`, counts Velero's repository in the RADOS Gateway as the
   * claims once plus claims × this × (retentionDays + 2)
   * (docs/decisions/0103-backups-in-the-capacity-model.md).
   * @default 1
   */
  snapshotDailyChangePercent: z.number().gt(0, { error: 'must be above 0' }).max(100, { error: 'must be at most 100' }).default(1),
  /**
   * Where Velero keeps its backups (the objects and, through its data mover, the volume data): an
   * S3 bucket in AWS that the `backup` stack creates, outside the Ceph cluster it protects. Without
   * it Velero writes to `ceph.rgw.bucket` in the same cluster, and the capacity rule counts that
   * (docs/decisions/0104-off-site-backups-and-restore.md).
   * @default - Velero writes to the RADOS Gateway
   */
  offsite: z
    .strictObject({
      /** The bucket's name: global in S3; no dots, so virtual-host TLS names match. */
      bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name without dots, e.g. "example-platform-backups"' }),
      /** The AWS region the `backup` stack creates the bucket in. */
      region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region, e.g. "eu-central-1"' }),
    })
    .optional(),
  /**
   * The copy of the platform repository outside the cluster (a GitLab push mirror of `git.repoURL`
   * to this remote): a whole-cluster restore renders and syncs from it, because the in-cluster
   * GitLab is what is being restored (README, "Restore the whole cluster").
   * @default - no mirror: a restore needs a clone of the repository from somewhere
   */
  repositoryMirror: z
    .strictObject({
      /** The mirror's clone URL (HTTPS), on a Git host outside the platform. */
      url: httpsUrl,
    })
    .optional(),
  /**
   * The expected size of one archive of each application-consistent backup in the RADOS Gateway
   * (decision 86): the PostgreSQL dump of every database, the Vault raft snapshot, GitLab's own
   * backup (database, repositories, uploads). The capacity rule counts retentionDays + 1 of each
   * (the newest is uploaded before the oldest is deleted). Measure with `aws s3 ls --summarize`
   * and raise these when they grow.
   */
  archiveGiB: z
    .strictObject({
      postgresql: z.number().gt(0, { error: 'must be above 0 GiB' }),
      vault: z.number().gt(0, { error: 'must be above 0 GiB' }),
      gitlab: z.number().gt(0, { error: 'must be above 0 GiB' }),
    })
    .default({ postgresql: 0.2, vault: 0.01, gitlab: 0.25 }),
  /**
   * The S3 region Velero signs its requests to the RADOS Gateway with: the name of the RGW
   * zonegroup (Ceph's default zonegroup is "default"). Velero's S3 plugin requires one with
   * path-style addressing.
   */
  region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be an S3 region name (the RGW zonegroup), e.g. "default"' }),
  /**
   * The RADOS Gateway bucket the application-consistent backups go to (PostgreSQL dumps, Vault
   * raft snapshots), each under its own prefix, pruned after `retentionDays`. Not Velero's bucket:
   * Velero refuses a bucket root holding directories of its own making only
   * (docs/decisions/0086-database-dumps-and-snapshots.md).
   * @default 'platform-dumps'
   */
  dumpBucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name without dots' }).default('platform-dumps'),
});

const EnvironmentSchema = z.strictObject({
  /** The cert-manager ClusterIssuer for this environment's hosts. */
  certificateIssuer: z.enum(['letsencrypt-staging', 'letsencrypt-prod'], {
    error: 'must be "letsencrypt-staging" or "letsencrypt-prod"',
  }),
});

// ---- cluster core (issue 4): k3s node configs, cert-manager, Argo CD's own settings ----

/** How the k3s nodes are installed and joined (rendered into `dist/nodes/<node>/config.yaml`). */
const K3sSchema = z.strictObject({
  /**
   * Where the join token lives on every node. k3s reads it from this file (`token-file`), so the
   * token itself never appears in a rendered file; the runbook says how to put it there.
   */
  tokenFile: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, {
    error: 'must be an absolute path on the nodes, e.g. "/etc/rancher/k3s/token"',
  }),
  /**
   * Extra names or addresses the API server certificate must carry, beyond the server's own
   * name and its mesh and LAN addresses (which are always included).
   */
  tlsSans: z.array(
    z.string().refine((value) => isIpv4(value) || FQDN.test(value), {
      error: 'must be an IPv4 address or a fully qualified domain name, e.g. "k3s.example.com"',
    }),
  ),
});

/** The days of the week as kured and system-upgrade-controller spell them (both use kured's pkg/timewindow). */
export const MAINTENANCE_DAYS = ['mo', 'tu', 'we', 'th', 'fr', 'sa', 'su'] as const;
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a time of day as "HH:MM" (24 h, quoted in YAML), e.g. "02:00"' });

/**
 * When the cluster may take nodes down on its own: kured's reboots after OS security updates and
 * system-upgrade-controller's k3s upgrades start only inside this window (kubereboot/kured 1.23.0
 * pkg/timewindow; rancher/system-upgrade-controller v0.20.1 Plan `spec.window`, the same package).
 * A window whose end is before its start runs past midnight into the next day.
 */
const MaintenanceWindowSchema = z
  .strictObject({
    /** The days a window starts on. */
    days: z
      .array(z.enum(MAINTENANCE_DAYS, { error: `must be one of ${MAINTENANCE_DAYS.map((d) => `"${d}"`).join(', ')}` }))
      .min(1, { error: 'must name at least one day, e.g. ["sa", "su"]' })
      .refine((days) => new Set(days).size === days.length, { error: 'must not name a day twice' }),
    /** Local time of day the window opens, "HH:MM". */
    start: timeOfDay,
    /** Local time of day the window closes, "HH:MM"; nothing new starts after it. */
    end: timeOfDay,
    /** The IANA time zone `start` and `end` are in, e.g. "Europe/Berlin". */
    timeZone: z.string().refine(isTimeZone, { error: 'must be an IANA time zone name, e.g. "UTC" or "Europe/Berlin"' }),
  })
  .refine((window) => window.start !== window.end, { path: ['end'], error: 'must differ from start; the window would be empty' });

/** Whether the runtime's time zone database knows `name` (the IANA names Go's time.LoadLocation reads). */
function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const CertManagerSchema = z.strictObject({
  /**
   * The resolvers cert-manager asks when it checks that a DNS-01 TXT record has propagated
   * (`--dns01-recursive-nameservers`, used exclusively). cert-manager may reach port 53 of these
   * addresses and nothing else, so keep the list short.
   */
  recursiveNameservers: z
    .array(z.string().regex(/^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/, { error: 'must be "address:port", e.g. "1.1.1.1:53"' }))
    .min(1, { error: 'must list at least one resolver, e.g. "1.1.1.1:53"' }),
});

const ArgocdSchema = z.strictObject({
  /**
   * Whether Argo CD's built-in `admin` account may log in (`admin.enabled` in argocd-cm). False
   * in the seed: people sign in through GitLab, operators without it use `argocd login --core`
   * with their kubeconfig; true only as break-glass (docs/decisions/0118-break-glass-accounts.md).
   */
  adminEnabled: z.boolean({ error: 'must be true or false' }),
});

/** A GitLab group's full path as GitLab's ID token lists it (`groups_direct`), in lower case. */
const gitlabGroupPath = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/, {
    error: 'must be a GitLab group\'s full path in lower case, e.g. "platform-admins" or "ops/platform-admins"',
  });

/**
 * Single sign-on through GitLab (docs/decisions/0117-gitlab-as-oidc-provider.md): the GitLab
 * groups whose direct members get each role in Argo CD, Grafana, Harbor, Jenkins and Vault. A
 * person in neither group can sign in to none of them.
 */
const SsoSchema = z
  .strictObject({
    /** Its direct members administer every service (Argo CD `role:admin`, Grafana Admin, Vault's admin policy). */
    adminGroup: gitlabGroupPath,
    /** Its direct members may look but not change (Argo CD `role:readonly`, Grafana Viewer, Vault's read-only policy). */
    viewerGroup: gitlabGroupPath,
  })
  .refine((sso) => sso.adminGroup !== sso.viewerGroup, {
    path: ['viewerGroup'],
    error: 'must differ from sso.adminGroup: one group cannot hold both roles; name another GitLab group, e.g. "platform-viewers"',
  });

// ---- secrets and backups (issue 6): Vault ----

/** Upper bounds of the workload tokens' lifetimes (POLICY-RULES VAULT-04: short TTLs). */
export const VAULT_TOKEN_TTL_LIMIT_MINUTES = 60;
export const VAULT_TOKEN_MAX_TTL_LIMIT_MINUTES = 24 * 60;

/** A Vault duration in whole minutes or hours, as a role's `token_ttl` takes it ("15m", "4h"). */
const vaultDuration = z.string().regex(/^[1-9]\d*[mh]$/, { error: 'must be a whole number of minutes or hours, e.g. "15m" or "4h"' });

/** Minutes of a `vaultDuration` ("15m" -> 15, "4h" -> 240). */
export function durationMinutes(value: string): number {
  return Number(value.slice(0, -1)) * (value.endsWith('h') ? 60 : 1);
}

/**
 * Auto-unseal through AWS KMS: Vault asks the key to decrypt its root key at every start, so a
 * restart needs no key holders. The key and the `vault-unseal` IAM user come from the `vault`
 * Terraform stack; the user's access key reaches the cluster as the hand-made Secret
 * `vault/vault-awskms` (README runbook, docs/decisions/0089-vault-auto-unseal-aws-kms.md).
 * @see https://developer.hashicorp.com/vault/docs/configuration/seal/awskms
 */
const VaultAutoUnsealSchema = z.strictObject({
  provider: z.literal('awskms', { error: 'must be "awskms" (AWS KMS is the only auto-unseal provider the render knows)' }),
  /** AWS region of the KMS key (the `vault` stack creates it there). */
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region, e.g. "eu-central-1"' }),
  /** The key's alias: Vault's `kms_key_id`, so the key ARN never needs copying into the model. */
  keyAlias: z
    .string()
    .regex(/^alias\/[A-Za-z0-9/_-]{1,250}$/, { error: 'must be a KMS alias such as "alias/platform-vault-unseal" (letters, digits, "/", "_", "-")' })
    .refine((value) => !value.startsWith('alias/aws/'), { error: 'must not start with "alias/aws/" (reserved for AWS managed keys); use e.g. "alias/platform-vault-unseal"' }),
});

const VaultSchema = z.strictObject({
  /** Size of Vault's integrated storage (Raft) volume on the `ceph-rbd` StorageClass, in GiB. */
  storageGiB: z.number().int().min(1, { error: 'must be at least 1 GiB' }).max(1024, { error: 'must be at most 1024 GiB' }),
  /**
   * `token_ttl` of every workload's Kubernetes-auth role: how long a login lasts before the agent
   * renews it. At most 1h.
   */
  tokenTtl: vaultDuration.refine((value) => durationMinutes(value) <= VAULT_TOKEN_TTL_LIMIT_MINUTES, {
    error: 'must be at most 1h (short-lived tokens, POLICY-RULES VAULT-04); the agent renews the token before it expires',
  }),
  /** `token_max_ttl`: after this the agent logs in again with a fresh service account token. At most 24h. */
  tokenMaxTtl: vaultDuration.refine((value) => durationMinutes(value) <= VAULT_TOKEN_MAX_TTL_LIMIT_MINUTES, {
    error: 'must be at most 24h (POLICY-RULES VAULT-04); the agent logs in again when it is reached',
  }),
  /**
   * Unseal through AWS KMS instead of by hand; the Shamir keys `vault operator init` prints
   * become recovery keys (break-glass, `generate-root`).
   * @default - unset: Shamir unseal keys, three of five typed after every restart
   */
  autoUnseal: VaultAutoUnsealSchema.optional(),
});

// ---- data, source and registry (issue 8 part A): PostgreSQL, Redis, GitLab, Harbor ----

const storageGiB = (example: number) =>
  z
    .number({ error: `must be a whole number of GiB, e.g. ${example}` })
    .int({ error: `must be a whole number of GiB, e.g. ${example}` })
    .min(1, { error: 'must be at least 1 GiB' })
    .max(16384, { error: 'must be at most 16384 GiB (16 TiB); the Ceph pool holds every volume' });

const PostgresqlSchema = z.strictObject({
  /** The data volume (StorageClass `ceph-rbd`); GitLab's and Harbor's databases share it. */
  storageGiB: storageGiB(20),
});

const RedisSchema = z.strictObject({
  /** The append-only file's volume (StorageClass `ceph-rbd`). */
  storageGiB: storageGiB(5),
  /**
   * Redis' memory limit (`maxmemory`); the container limit is set a quarter above it. Redis never
   * evicts (GitLab keeps its job queues there): writes fail once it is full, so size it generously.
   */
  maxMemoryMiB: z
    .number({ error: 'must be a whole number of MiB, e.g. 1024' })
    .int({ error: 'must be a whole number of MiB, e.g. 1024' })
    .min(64, { error: 'must be at least 64 MiB' })
    .max(65536, { error: 'must be at most 65536 MiB' }),
});

const GitlabSchema = z.strictObject({
  /** Gitaly's repository volume (StorageClass `ceph-rbd`). */
  gitalyStorageGiB: storageGiB(50),
  /**
   * Prefix of the object storage buckets on Ceph RGW (`<prefix>-artifacts`, `-lfs`, `-uploads`,
   * `-packages`, `-backups`, `-tmp`); create them before the first sync (README runbook).
   */
  bucketPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/, {
    error: 'must be the start of an S3 bucket name (3-42 lowercase letters, digits and "-"), e.g. "gitlab"',
  }),
});

/** A Harbor project: its repositories are scanned on push and pulls are blocked above a severity. */
const HarborProjectSchema = z.strictObject({
  /** The project name: images are `<harbor host>/<name>/<repository>:<tag>`. */
  name: z.string().regex(/^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$/, {
    error: 'must be a Harbor project name (lowercase letters, digits, ".", "_" and "-"), e.g. "apps"',
  }),
  /** Anonymous pulls allowed. Keep false: the cluster pulls with the `robot$cluster-pull` account. */
  public: z.boolean({ error: 'must be true or false' }),
});

const HarborSchema = z.strictObject({
  /** The registry's image storage (StorageClass `ceph-rbd`). */
  registryStorageGiB: storageGiB(100),
  /** Trivy's vulnerability database and cache. */
  trivyStorageGiB: storageGiB(5),
  /**
   * Projects the setup Job creates besides the apps' own (each app's image project is created
   * for it, private unless declared here); the cluster robot pulls from all of them.
   */
  projects: z.array(HarborProjectSchema).min(1, { error: 'must declare at least one project, e.g. { name: "apps", public: false }' }),
  /**
   * Days an app's push robot lives from its creation; the setup Job creates it again with the new
   * secret when its Vault entry gets a new version (docs/decisions/0119).
   * @default 90
   */
  robotLifetimeDays: z
    .number({ error: 'must be a number of days, e.g. 90' })
    .int({ error: 'must be a whole number of days, e.g. 90' })
    .min(30, { error: 'must be at least 30: the setup Job warns 14 days before a robot expires' })
    .max(365, { error: 'must be at most 365: a push robot must expire within a year; rotate it more often' })
    .default(90),
  /**
   * Pulls of an image with a vulnerability of this severity or worse are refused
   * (Harbor's "Prevent vulnerable images from running").
   */
  preventSeverity: z.enum(['critical', 'high', 'medium', 'low'], { error: 'must be "critical", "high", "medium" or "low"' }),
});

// ---- observability (issue 7): Prometheus, Alertmanager, Grafana, Loki ----

/** A Prometheus duration as the model accepts it: whole seconds, minutes or hours. */
const promDuration = z.string().regex(/^[1-9]\d*(s|m|h)$/, { error: 'must be a duration such as "30s", "1m" or "1h"' });

/** A label value matcher: the alert label and the exact value it must have. */
const alertLabel = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'must be a Prometheus label name, e.g. "severity"' });

/**
 * Where Alertmanager sends notifications. A receiver holds one or more integrations; credentials
 * (the SMTP password, the Slack webhook URL, the PagerDuty routing key) are never in the model:
 * they live in Vault under `secret/alertmanager/<receiver>` and reach Alertmanager as files.
 * @see https://prometheus.io/docs/alerting/latest/configuration/#receiver
 */
const AlertReceiverSchema = z.strictObject({
  /** E-mail through `observability.alerting.smtp`. */
  email: z.strictObject({ to: email }).optional(),
  /** A Slack incoming webhook (URL in Vault, key `url`) posting to this channel. */
  slack: z.strictObject({
    channel: z.string().regex(/^#[a-z0-9._-]{1,79}$/, { error: 'must be a Slack channel such as "#platform-alerts"' }),
  }).optional(),
  /** PagerDuty Events API v2 (routing key in Vault, key `routing-key`). */
  pagerduty: z.strictObject({
    /** What the incident is about in PagerDuty. @default - the alert's summary */
    description: z.string().min(1).optional(),
  }).optional(),
});

/** One branch of the Alertmanager routing tree below the default receiver. */
const AlertRouteSchema = z.strictObject({
  /** The receiver (a key of `receivers`) alerts matching this route go to. */
  receiver: z.string(),
  /** Labels an alert must carry, all of them, with exactly these values, e.g. `{ severity: critical }`. */
  matchers: z.record(alertLabel, z.string().min(1, { error: 'must not be empty' })).refine((m) => Object.keys(m).length > 0, {
    error: 'must name at least one label, e.g. { severity: critical }',
  }),
  /** Keep matching the routes after this one (and the default receiver). @default false */
  continue: z.boolean({ error: 'must be true or false' }).optional(),
});

/** The receiver Alertmanager sends the Watchdog to; no receiver of the model may take the name. */
export const HEARTBEAT_RECEIVER = 'heartbeat';

const AlertingSchema = z.strictObject({
  /**
   * The dead-man's switch: an external heartbeat service (healthchecks.io, Dead Man's Snitch,
   * Better Stack, a cron monitor) that Alertmanager pings with the always-firing `Watchdog` alert
   * every `interval`, and that alerts on its own when the pings stop. Its ping URL is a secret, in
   * Vault under `secret/alertmanager/heartbeat` (key `url`); it must be https on port 443.
   * See docs/decisions/0074-heartbeat.md.
   */
  heartbeat: z.strictObject({
    /** How often the Watchdog is re-sent; set the service's period to it and its grace to at least as much again. */
    interval: promDuration,
  }),
  /** The receiver of every alert no route claims (a key of `receivers`). */
  defaultReceiver: z.string(),
  receivers: z.record(dnsLabel('ops-email'), AlertReceiverSchema).refine((r) => Object.keys(r).length > 0, {
    error: 'must declare at least one receiver',
  }),
  /** Routes, first match wins (unless `continue`). */
  routes: z.array(AlertRouteSchema),
  /**
   * The mail server for e-mail receivers (required when any receiver sends e-mail). The password
   * is in Vault (`secret/alertmanager/smtp`, key `password`).
   */
  smtp: z
    .strictObject({
      /** `host:port` of the submission server; it must be a public address (Alertmanager's egress is to the internet only). */
      smarthost: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,63}:\d{1,5}$/, { error: 'must be "host:port", e.g. "smtp.example.com:587"' }),
      from: email,
      username: z.string().min(1, { error: 'must not be empty' }),
    })
    .optional(),
});

const ObservabilitySchema = z.strictObject({
  /** How often Prometheus scrapes every target and evaluates the rules. */
  scrapeInterval: promDuration,
  prometheus: z.strictObject({
    /** How long samples are kept (`--storage.tsdb.retention.time`). */
    retentionDays: z.number().int().min(1, { error: 'must be at least 1 day' }).max(365, { error: 'must be at most 365 days' }),
    /** The `ceph-rbd` volume for the TSDB; retention by size stops at 80% of it. */
    storageGiB: z.number().int().min(5, { error: 'must be at least 5 GiB' }),
  }),
  loki: z.strictObject({
    /** How long logs are kept (the compactor deletes older chunks). */
    retentionDays: z.number().int().min(1, { error: 'must be at least 1 day' }).max(365, { error: 'must be at most 365 days' }),
    /** The `ceph-rbd` volume for chunks and the index. */
    storageGiB: z.number().int().min(5, { error: 'must be at least 5 GiB' }),
  }),
  alerting: AlertingSchema,
});

// ---- the user's apps and their delivery (issue 8, part B) ----

/**
 * An OCI image tag (the distribution spec's grammar). The pipeline tags every build with the full
 * commit SHA; `latest` is refused because it moves under a running deployment.
 */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const imageTagSchema = z
  .string()
  .regex(IMAGE_TAG, {
    error: 'must be an image tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-"), e.g. the commit SHA the pipeline built',
  })
  .refine((tag) => tag !== 'latest', { error: '"latest" moves under a running deployment; use the immutable commit SHA the pipeline built' });

/**
 * An image digest as the registry computed it when the pipeline pushed: `sha256:` and 64 lowercase
 * hex digits. With it, a Deployment names exactly the image the scan approved (`repo:tag@digest`).
 */
export const imageDigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, {
  error: 'must be "sha256:" and 64 lowercase hex digits, the digest the pipeline pushed (crane digest IMAGE:TAG prints it)',
});

/** `registry/path:tag` with an explicit, non-`latest` tag (optionally `@sha256:` digest). */
const pinnedImage = z
  .string()
  .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$/, {
    error: 'must be an image with registry and an exact tag, e.g. "ghcr.io/osscontainertools/kaniko:v1.28.5-debug"',
  })
  .refine((image) => !/:latest(@|$)/.test(image), { error: 'must not use the "latest" tag; pin an exact version' });

const cpuQuantity = z.string().regex(/^([1-9]\d*m|\d+(\.\d{1,3})?)$/, { error: 'must be a CPU quantity such as "100m" or "0.5"' });
const memoryQuantity = z.string().regex(/^[1-9]\d*(Ki|Mi|Gi|Ti)$/, { error: 'must be a memory quantity in binary units such as "128Mi" or "1Gi"' });

/** Requests and limits of one container, as Kubernetes quantities. */
const ResourcesSchema = z.strictObject({
  requests: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
  limits: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
});

/** One app in one environment: where it is served, what runs, how much of it. */
const AppEnvironmentSchema = z.strictObject({
  /**
   * Its public host, under `domain`, unique across the model. Prefer one label below the zone
   * (`hello-dev.example.com`): Cloudflare's Universal SSL covers only first-level names of
   * proxied records.
   */
  host: z.string(),
  /**
   * Who reaches `host`: `public` (internet, through Cloudflare and the gateway) or `mesh`
   * (Headscale mesh and the cluster only).
   * @default 'mesh'
   */
  exposure: exposure.optional(),
  /**
   * The image tag deployed: the commit SHA the pipeline built and scanned. The pipeline changes it
   * with `npm run set-image`; in the default model the tags live in config/app-images.json.
   */
  tag: imageTagSchema,
  /**
   * The digest of that image, as the pipeline pushed and Harbor scanned it: the Deployment then
   * runs `repo:tag@digest`, which no later push can change. Absent in models written before
   * digests (the image is then the tag alone); docs/decisions/0107-deploy-by-digest.md.
   */
  digest: imageDigestSchema.optional(),
  /** Pods of the app in this environment (two or more get a PodDisruptionBudget and spread over nodes). */
  replicas: z.number().int().min(1, { error: 'must be at least 1' }).max(10, { error: 'must be at most 10' }),
  resources: ResourcesSchema,
});

/** A secret the app reads from Vault: `secret/data/<app>-<env>/<name>`, the file /vault/secrets/<name>. */
const AppSecretSchema = z.strictObject({
  name: dnsLabel('config'),
  /** The keys of the entry; the file holds one `KEY=value` line per key. */
  keys: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name, e.g. "API_KEY"' }))
    .min(1, { error: 'must list at least one key' }),
});

const httpPath = z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, { error: 'must be an absolute HTTP path, e.g. "/healthz"' });

/**
 * One of the user's applications, deployed to every environment of the model from its own GitLab
 * repository through the delivery pipeline (GitLab -> Jenkins -> Kaniko -> Harbor -> Argo CD).
 * The repository holds a Dockerfile with a `test` stage (the pipeline's test step) whose last
 * stage is the app; the image runs as a non-root user with a read-only root filesystem (writable
 * /tmp) and serves HTTP on `port`.
 */
const AppSchema = z.strictObject({
  /** The GitLab project (`group/name`) with the app's code and Dockerfile. */
  repository: z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)+$/, { error: 'must be a GitLab project path "group/name", e.g. "apps/hello"' }),
  /** The Harbor repository (`project/name`) the pipeline pushes the image to. */
  image: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, { error: 'must be a Harbor repository "project/name", e.g. "apps/hello"' }),
  /** The HTTP port the app listens on (unprivileged: the app runs as a non-root user). */
  port: z.number().int().min(1024, { error: 'must be 1024 or more: the app runs as a non-root user' }).max(65535, { error: 'must be at most 65535' }),
  /** Readiness and liveness endpoints; they must differ (a liveness check should not wait for dependencies). */
  health: z.strictObject({ readinessPath: httpPath, livenessPath: httpPath }),
  /** Secrets from Vault, each rendered into a file by the Vault agent. */
  secrets: z.array(AppSecretSchema),
  /**
   * The app's smoke tests: a shell command the pipeline runs in the app's checkout after every
   * deployment, with APP_URL (the environment's in-cluster address), APP_HOST and APP_ENV set.
   */
  smokeTest: z.string().regex(/^[^\n]+$/, { error: 'must be a one-line shell command, e.g. "./smoke-test.sh"' }),
  /**
   * Every environment of the model. The pipeline deploys in the order of the model's
   * `environments`: the first automatically, each next one after a manual approval.
   */
  environments: z.record(dnsLabel('dev'), AppEnvironmentSchema),
});

/** Settings of the build pipeline shared by every app. */
/**
 * Renovate, run in the cluster against GitLab (charts/day-two/renovate.ts,
 * docs/decisions/0108-renovate-in-the-cluster.md). Each repository's own renovate.json decides what
 * is updated and when merge requests open; this only decides when the bot looks.
 */
/** Whether `schedule` (UTC) starts at least twice in the year from a fixed date (deterministic). */
function startsTwiceWithinAYear(schedule: string): boolean {
  const from = new Date('2026-01-01T00:00:00Z');
  const runs = new Cron(schedule, { timezone: 'Etc/UTC', paused: true }).nextRuns(2, from);
  return runs.length === 2 && runs[1].getTime() < from.getTime() + 366 * 86400 * 1000;
}

const RenovateSchema = z.strictObject({
  /**
   * When the CronJob starts a run (cron, UTC). Runs outside the schedule of a repository's
   * renovate.json still rebase and update its open merge requests.
   * @default '30 * * * *'
   */
  schedule: cron
    .superRefine((value, ctx) => {
      // Its missed-run alert waits two of the schedule's longest gaps (charts/day-two/renovate.ts),
      // which a schedule that starts less than twice a year does not have.
      if (!cronProblem(value) && !startsTwiceWithinAYear(value)) {
        ctx.addIssue({ code: 'custom', message: 'does not start twice within a year; use e.g. "30 * * * *" (hourly)' });
      }
    })
    .default('30 * * * *'),
  /**
   * Pauses every run (the CronJob's `suspend`) and silences the missed-run alert; open merge
   * requests stay as they are. @default false
   */
  suspend: z.boolean().default(false),
});

/**
 * The service mesh (issue 18): Linkerd's open-source edge release, installed by Argo CD.
 * `enabled: false` renders the platform without it (no proxies, no mesh policy).
 */
/** One PEM certificate block (public), never a key. */
const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n?$/;

const ServiceMeshSchema = z.strictObject({
  /** @default false */
  enabled: z.boolean({ error: 'must be true or false' }).default(false),
  /**
   * The previous trust anchor's certificate (PEM, public: never its key), trusted besides the
   * current anchor while the anchor's key is replaced (README "Service mesh: Linkerd"); remove it
   * once every meshed workload restarted under the new anchor. @default - only the current anchor
   */
  previousTrustAnchorPEM: z
    .string()
    .refine((value) => PEM_CERTIFICATE.test(value), {
      error: 'must be one PEM certificate ("-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"), the tls.crt of the previous linkerd-trust-anchor Secret; never a private key',
    })
    .optional(),
});

const DeliverySchema = z.strictObject({
  /**
   * The Kaniko executor image of the build pods; a `-debug` variant, because Jenkins runs its
   * steps through the image's shell (/busybox/sh). The original project is archived; see
   * docs/decisions/0040-kaniko-status.md.
   * @default - IMAGES.kaniko of config/versions.ts
   */
  kanikoImage: pinnedImage.optional(),
  /**
   * Run the build pods in a user namespace of their own (`hostUsers: false`), so Kaniko's root
   * is an unprivileged uid on the node. Every node that may run a build needs Linux 6.3 or newer
   * (idmap mounts on tmpfs); k3s v1.34 brings the rest (containerd 2, runc 1.2+, the feature on by
   * default). Debian 12's own kernel is 6.1: switch it on after the runbook's kernel step.
   * See docs/decisions/0106-kaniko-user-namespaces.md.
   * @default false
   */
  userNamespaces: z.boolean().optional(),
});

/** `platform` is the folder of the shared platform services; environments are for the user's apps. */
export const PLATFORM_ENV = 'platform';

export const PlatformSchema = z
  .strictObject({
    /** The public DNS zone every host lives under. */
    domain: fqdn,
    git: GitSchema,
    /** Contact for Let's Encrypt (expiry notices). */
    acmeEmail: email,
    mesh: MeshSchema,
    gateway: GatewaySchema,
    cluster: ClusterSchema,
    nodes: z
      .record(dnsLabel('k3s-worker-01'), NodeSchema)
      .refine((nodes) => Object.keys(nodes).length > 0, { error: 'must declare at least one node' }),
    ceph: CephSchema,
    services: ServicesSchema,
    backups: BackupsSchema,
    k3s: K3sSchema,
    /**
     * The maintenance window of node reboots and k3s upgrades (docs/decisions/0098-coordinated-reboots.md).
     * @default - Saturday and Sunday, 02:00 to 05:00 UTC
     */
    maintenance: MaintenanceWindowSchema.default({ days: ['sa', 'su'], start: '02:00', end: '05:00', timeZone: 'UTC' }),
    certManager: CertManagerSchema,
    argocd: ArgocdSchema,
    /** @default - GitLab groups `platform-admins` and `platform-viewers` */
    sso: SsoSchema.default({ adminGroup: 'platform-admins', viewerGroup: 'platform-viewers' }),
    vault: VaultSchema,
    postgresql: PostgresqlSchema,
    redis: RedisSchema,
    gitlab: GitlabSchema,
    harbor: HarborSchema,
    observability: ObservabilitySchema,
    environments: z
      .record(
        dnsLabel('staging').refine((name) => name !== PLATFORM_ENV, {
          error: `"${PLATFORM_ENV}" is reserved for the shared platform services; choose another environment name`,
        }),
        EnvironmentSchema,
      )
      .refine((envs) => Object.keys(envs).length > 0, { error: 'must declare at least one environment' }),
    /** The user's applications by name (a DNS label); each is deployed to every environment. */
    apps: z.record(dnsLabel('hello'), AppSchema),
    /** @default - the pinned images of config/versions.ts */
    delivery: DeliverySchema.optional(),
    /** @default - hourly at half past, not suspended */
    renovate: RenovateSchema.default({ schedule: '30 * * * *', suspend: false }),
    /** @default - no service mesh */
    serviceMesh: ServiceMeshSchema.default({ enabled: false }),
  })
  .superRefine(crossFieldRules);

export type Platform = z.infer<typeof PlatformSchema>;
export type PlatformNode = Platform['nodes'][string];
export type PlatformService = Platform['services'][ServiceName];
export type Environment = Platform['environments'][string];
export type Observability = Platform['observability'];
export type MaintenanceWindow = Platform['maintenance'];
export type AlertReceiver = Observability['alerting']['receivers'][string];
export type App = Platform['apps'][string];
export type AppEnvironment = App['environments'][string];

type Ctx = z.RefinementCtx;
type Model = Omit<Platform, never>;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** Rules that relate two or more fields; each names the path to change. */
/**
 * Whether `name` is one of the record's own entries. A reference to another part of the model
 * (a node, a receiver) is checked this way, never with `in` or `record[name]`: those also find
 * what every JavaScript object inherits ("constructor", "toString", "__proto__"), which would pass
 * a name that renders a pod no node can run or an Alertmanager route to no receiver.
 */
export function isEntryOf(record: Readonly<Record<string, unknown>>, name: string): boolean {
  return Object.hasOwn(record, name);
}

function crossFieldRules(model: Model, ctx: Ctx): void {
  checkHosts(model, ctx);
  checkNodes(model, ctx);
  checkNetworks(model, ctx);
  checkMesh(model, ctx);
  checkGateway(model, ctx);
  checkVault(model, ctx);
  checkBackups(model, ctx);
  checkSourceAndRegistry(model, ctx);
  checkAlerting(model, ctx);
  checkApps(model, ctx);
  checkCapacity(model, ctx);
}

function checkHosts(model: Model, ctx: Ctx): void {
  const seen = new Map<string, string>();
  const claim = (host: string, path: (string | number)[]) => {
    const previous = seen.get(host);
    if (previous) {
      issue(ctx, path, `host is already used by ${previous}; every host must be unique`);
    } else {
      seen.set(host, path.join('.'));
    }
  };
  const underDomain = (host: string) => FQDN.test(host) && host.endsWith(`.${model.domain}`);

  if (!underDomain(model.mesh.headscaleHost)) {
    issue(ctx, ['mesh', 'headscaleHost'], `must be a fully qualified domain name under ${model.domain}, e.g. "headscale.${model.domain}"`);
  }
  claim(model.mesh.headscaleHost, ['mesh', 'headscaleHost']);

  for (const name of SERVICE_NAMES) {
    const host = model.services[name].host;
    if (host === undefined) continue;
    if (!underDomain(host)) {
      issue(ctx, ['services', name, 'host'], `must be a fully qualified domain name under ${model.domain}, e.g. "${name}.${model.domain}"`);
      continue;
    }
    claim(host, ['services', name, 'host']);
  }
  // Argo CD's UI and API, and Vault's listener certificate, are served on their hosts; Grafana's
  // sign-in through GitLab redirects to its host (charts/lib/sso.ts).
  for (const [name, why] of [
    ['argocd', 'Argo CD needs a host for its UI and API'],
    ['vault', 'Vault needs a host under the domain for its UI and its TLS certificate'],
    ['grafana', 'Grafana needs a host: people sign in through GitLab, which redirects to it'],
  ] as const) {
    if (model.services[name].host === undefined) issue(ctx, ['services', name, 'host'], `${why}; set it, e.g. "${name}.${model.domain}"`);
  }
  for (const name of SERVICE_NAMES) {
    const { host, exposure: given } = model.services[name];
    if (host === undefined && given !== undefined) {
      issue(ctx, ['services', name, 'exposure'], `is set but the service has no host; remove exposure, or set services.${name}.host`);
    }
  }

  for (const [app, spec] of Object.entries(model.apps ?? {})) {
    for (const [env, deployment] of Object.entries(spec.environments ?? {})) {
      const path = ['apps', app, 'environments', env, 'host'];
      if (!underDomain(deployment.host)) {
        issue(ctx, path, `must be a fully qualified domain name under ${model.domain}, e.g. "${app}-${env}.${model.domain}"`);
        continue;
      }
      claim(deployment.host, path);
    }
  }
}

function checkNodes(model: Model, ctx: Ctx): void {
  const nodeNames = Object.keys(model.nodes);
  const servers = nodeNames.filter((name) => model.nodes[name].role === 'server');
  if (servers.length === 0) {
    issue(ctx, ['nodes'], 'no node has role "server"; make exactly one node the k3s control plane');
  }
  for (const extra of servers.slice(1)) {
    issue(ctx, ['nodes', extra, 'role'], `${servers[0]} is already the k3s server (control plane); use "agent"`);
  }
  for (const name of SERVICE_NAMES) {
    const node = model.services[name].node;
    if (!isEntryOf(model.nodes, node)) {
      issue(ctx, ['services', name, 'node'], `no such node; place the service on one of: ${nodeNames.join(', ')}`);
    }
  }
}

function checkNetworks(model: Model, ctx: Ctx): void {
  const nets: [string[], string][] = [
    [['mesh', 'cidr'], model.mesh.cidr],
    [['gateway', 'vpcCidr'], model.gateway.vpcCidr],
    [['cluster', 'lanCidr'], model.cluster.lanCidr],
    [['cluster', 'podCidr'], model.cluster.podCidr],
    [['cluster', 'serviceCidr'], model.cluster.serviceCidr],
  ];
  const parsed = nets.map(([path, value]) => [path, parseCidr(value)] as const);
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      const [pathA, a] = parsed[i];
      const [pathB, b] = parsed[j];
      if (a && b && rangesOverlap(a, b)) {
        issue(ctx, pathB, `overlaps ${pathA.join('.')} (${nets[i][1]}); the networks must be disjoint`);
      }
    }
  }

  const vpc = parseCidr(model.gateway.vpcCidr);
  const subnet = parseCidr(model.gateway.subnetCidr);
  if (vpc && subnet && !(subnet.first >= vpc.first && subnet.last <= vpc.last)) {
    issue(ctx, ['gateway', 'subnetCidr'], `must lie inside gateway.vpcCidr (${model.gateway.vpcCidr})`);
  }

  const mesh = parseCidr(model.mesh.cidr);
  const lan = parseCidr(model.cluster.lanCidr);
  const pool = parseAddressRange(model.cluster.loadBalancerPool);
  const addresses = new Map<string, string>();
  const useAddress = (address: string, path: string[]) => {
    const previous = addresses.get(address);
    if (previous) issue(ctx, path, `address is already used by ${previous}; addresses must be unique`);
    else addresses.set(address, path.join('.'));
  };
  const within = (range: Ipv4Range | undefined, address: string, path: string[], what: string) => {
    if (range && isIpv4(address) && !rangeContains(range, address)) issue(ctx, path, `must lie inside ${what}`);
  };

  within(mesh, model.gateway.meshAddress, ['gateway', 'meshAddress'], `mesh.cidr (${model.mesh.cidr})`);
  useAddress(model.gateway.meshAddress, ['gateway', 'meshAddress']);
  for (const [name, node] of Object.entries(model.nodes)) {
    within(mesh, node.meshAddress, ['nodes', name, 'meshAddress'], `mesh.cidr (${model.mesh.cidr})`);
    within(lan, node.lanAddress, ['nodes', name, 'lanAddress'], `cluster.lanCidr (${model.cluster.lanCidr})`);
    useAddress(node.meshAddress, ['nodes', name, 'meshAddress']);
    useAddress(node.lanAddress, ['nodes', name, 'lanAddress']);
    if (pool && isIpv4(node.lanAddress) && rangeContains(pool, node.lanAddress)) {
      issue(ctx, ['cluster', 'loadBalancerPool'], `overlaps the address of node ${name} (${node.lanAddress}); MetalLB would hand out a node's own address`);
    }
  }
  if (lan && pool && !(pool.first >= lan.first && pool.last <= lan.last)) {
    issue(ctx, ['cluster', 'loadBalancerPool'], `must lie inside cluster.lanCidr (${model.cluster.lanCidr}), where MetalLB answers ARP`);
  }
  within(pool, model.cluster.ingressAddress, ['cluster', 'ingressAddress'], `cluster.loadBalancerPool (${model.cluster.loadBalancerPool})`);
}

/** Tailscale clients accept only addresses inside 100.64.0.0/10 (CGNAT), and Headscale warns otherwise. */
const TAILSCALE_CGNAT = parseCidr('100.64.0.0/10')!;

function checkMesh(model: Model, ctx: Ctx): void {
  const mesh = parseCidr(model.mesh.cidr);
  if (mesh && !(mesh.first >= TAILSCALE_CGNAT.first && mesh.last <= TAILSCALE_CGNAT.last)) {
    issue(ctx, ['mesh', 'cidr'], 'must lie inside 100.64.0.0/10, the only IPv4 range Tailscale clients accept, e.g. "100.64.0.0/10"');
  }
  if (mesh && isIpv4(model.gateway.meshAddress) && ipv4ToInt(model.gateway.meshAddress) !== mesh.first + 1) {
    issue(
      ctx,
      ['gateway', 'meshAddress'],
      `must be the first address of mesh.cidr (${intToIpv4(mesh.first + 1)}): the gateway is the first device its Headscale registers`,
    );
  }
  const host = model.mesh.headscaleHost;
  const base = model.mesh.baseDomain;
  if (host === base || host.endsWith(`.${base}`)) {
    issue(ctx, ['mesh', 'baseDomain'], `must not contain mesh.headscaleHost (${host}): Headscale refuses it; use e.g. "mesh.${model.domain}"`);
  }
  if (!isEntryOf(model.nodes, model.mesh.subnetRouter)) {
    issue(ctx, ['mesh', 'subnetRouter'], `no such node; choose the node that advertises the MetalLB pool among: ${Object.keys(model.nodes).join(', ')}`);
  }
}

/**
 * AWS Graviton families: `a1` and every family whose generation digit is followed by `g`
 * (t4g, m7g, c7gn, r8g, ...). The gateway must be x86_64: the pinned Headscale package is amd64.
 */
export function isArmInstanceType(instanceType: string): boolean {
  const family = instanceType.split('.')[0];
  return family === 'a1' || /^[a-z]+\d+g/.test(family);
}

function checkGateway(model: Model, ctx: Ctx): void {
  if (isArmInstanceType(model.gateway.instanceType)) {
    issue(
      ctx,
      ['gateway', 'instanceType'],
      'is an arm64 (Graviton) type; the gateway installs the amd64 Headscale package pinned in config/versions.ts, so choose an x86_64 type such as "t3.small"',
    );
  }
  const zone = model.gateway.cloudflareZone;
  if (zone !== undefined && model.domain !== zone && !model.domain.endsWith(`.${zone}`)) {
    issue(ctx, ['gateway', 'cloudflareZone'], `must be domain (${model.domain}) or a parent of it: every public host gets its record in this zone`);
  }
}

function checkVault(model: Model, ctx: Ctx): void {
  const { tokenTtl, tokenMaxTtl } = model.vault;
  if (/^[1-9]\d*[mh]$/.test(tokenTtl) && /^[1-9]\d*[mh]$/.test(tokenMaxTtl) && durationMinutes(tokenMaxTtl) < durationMinutes(tokenTtl)) {
    issue(ctx, ['vault', 'tokenMaxTtl'], `must be at least vault.tokenTtl (${tokenTtl}): a token cannot outlive its own maximum`);
  }
}

function checkBackups(model: Model, ctx: Ctx): void {
  const { offsite, repositoryMirror } = model.backups;
  if (offsite && offsite.bucket === model.gateway.stateBucket) {
    issue(
      ctx,
      ['backups', 'offsite', 'bucket'],
      `is the Terraform state bucket (gateway.stateBucket): Velero would mark a bucket whose root holds other directories unavailable; name another bucket, e.g. "${model.gateway.stateBucket}-velero"`,
    );
  }
  const hostOf = (url: string) => /^https:\/\/([^/:]+)/.exec(url)?.[1]?.toLowerCase();
  if (repositoryMirror && hostOf(repositoryMirror.url) !== undefined && hostOf(repositoryMirror.url) === hostOf(model.git.repoURL)) {
    issue(
      ctx,
      ['backups', 'repositoryMirror', 'url'],
      `is on the host of git.repoURL, the GitLab a whole-cluster restore brings back; name a Git remote outside the platform, e.g. "https://github.com/example/platform.git"`,
    );
  }
  if (model.backups.dumpBucket === model.ceph.rgw.bucket) {
    issue(
      ctx,
      ['backups', 'dumpBucket'],
      `"${model.backups.dumpBucket}" is Velero's bucket (ceph.rgw.bucket): Velero marks a bucket whose root holds other directories unavailable; name another bucket, e.g. "platform-dumps"`,
    );
  }
  // Velero reaches the RADOS Gateway under default-deny NetworkPolicies, which allow addresses, not names.
  const host = /^https?:\/\/([^/:]+)(:\d+)?$/.exec(model.ceph.rgw.endpoint)?.[1];
  if (host !== undefined && !isIpv4(host)) {
    issue(
      ctx,
      ['ceph', 'rgw', 'endpoint'],
      'must name the RADOS Gateway by its IPv4 address, e.g. "http://192.168.10.21:7480": the backup NetworkPolicy allows addresses, not names',
    );
  }
}

/** GitLab and Harbor need a host (git.<domain>, registry.<domain>), public or mesh-only; Harbor's projects are unique. */
function checkSourceAndRegistry(model: Model, ctx: Ctx): void {
  const examples: Record<string, string> = { gitlab: 'git', harbor: 'registry' };
  for (const name of ['gitlab', 'harbor'] as const) {
    if (model.services[name].host === undefined) {
      issue(ctx, ['services', name, 'host'], `${name} needs a host: the pipeline, Argo CD and the nodes reach it by name; set it, e.g. "${examples[name]}.${model.domain}"`);
    }
  }
  if (model.services.jenkins.host === undefined) {
    issue(ctx, ['services', 'jenkins', 'host'], `jenkins needs a host: its UI and GitLab's webhooks reach it by name; set it, e.g. "ci.${model.domain}"`);
  }
  const seen = new Set<string>();
  model.harbor.projects.forEach((project, index) => {
    if (seen.has(project.name)) issue(ctx, ['harbor', 'projects', index, 'name'], 'is declared twice; every Harbor project name must be unique');
    seen.add(project.name);
  });
  // Harbor grants a robot a whole project, not one repository: an app pushes only to its own
  // project so that its robot cannot replace another app's images (docs/decisions/0119).
  const owners = new Map<string, string>();
  for (const [app, spec] of Object.entries(model.apps ?? {})) {
    const project = spec.image.split('/')[0]!;
    const owner = owners.get(project);
    if (owner !== undefined) {
      issue(ctx, ['apps', app, 'image'], `is in Harbor project "${project}", which app ${owner} pushes to; each app needs its own project (its push robot may write the whole project), e.g. "${app}/${spec.image.split('/').slice(1).join('/')}"`);
    } else owners.set(project, app);
  }
}

function checkAlerting(model: Model, ctx: Ctx): void {
  const { alerting } = model.observability;
  const names = Object.keys(alerting.receivers);
  const known = (name: string) => isEntryOf(alerting.receivers, name);
  if (known(HEARTBEAT_RECEIVER)) {
    issue(ctx, ['observability', 'alerting', 'receivers', HEARTBEAT_RECEIVER], `the name is reserved for the Watchdog's receiver (observability.alerting.heartbeat); rename the receiver`);
  }
  // Prometheus and Alertmanager on one node: losing it silences both, with no alert about it from
  // inside. The heartbeat would still notice; spreading them keeps NodeDown deliverable as well.
  const { prometheus, alertmanager } = model.services;
  if (Object.keys(model.nodes).length > 1 && prometheus.node === alertmanager.node) {
    issue(ctx, ['services', 'alertmanager', 'node'], `is also Prometheus' node (services.prometheus.node); place Alertmanager on another node, e.g. "${Object.keys(model.nodes).find((n) => n !== prometheus.node)}"`);
  }
  if (!known(alerting.defaultReceiver)) {
    issue(ctx, ['observability', 'alerting', 'defaultReceiver'], `no such receiver; use one of: ${names.join(', ')}`);
  }
  alerting.routes.forEach((route, index) => {
    if (!known(route.receiver)) issue(ctx, ['observability', 'alerting', 'routes', index, 'receiver'], `no such receiver; use one of: ${names.join(', ')}`);
  });
  for (const [name, receiver] of Object.entries(alerting.receivers)) {
    if (!receiver.email && !receiver.slack && !receiver.pagerduty) {
      issue(ctx, ['observability', 'alerting', 'receivers', name], 'sends nowhere; give it at least one of email, slack, pagerduty');
    }
    if (receiver.email && !alerting.smtp) {
      issue(ctx, ['observability', 'alerting', 'smtp'], `is missing but receiver ${name} sends e-mail; add smarthost, from and username`);
    }
  }
}

/** App names that would collide with the folders every environment already has (dist/k8s/<env>/...). */
const RESERVED_APP_NAMES = ['apps', 'bootstrap'];

function cpuMillis(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}

function memoryBytes(quantity: string): number {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(quantity.slice(0, -2)) * (units[quantity.slice(-2)] ?? NaN);
}

/** The exposure of a host entry (a service or an app environment), with the model's default. */
export function exposureOf(entry: { readonly exposure?: Exposure }): Exposure {
  return entry.exposure ?? DEFAULT_EXPOSURE;
}

/** The namespace (and Application, and Vault consumer) of an app in one environment. */
export function appNamespace(app: string, env: string): string {
  return `${app}-${env}`;
}

function checkApps(model: Model, ctx: Ctx): void {
  const apps = Object.entries(model.apps ?? {});
  if (apps.length === 0) return;
  const envNames = Object.keys(model.environments ?? {});
  // GitLab's and Harbor's hosts, which the pipeline needs, are required by checkSourceAndRegistry.

  const namespaces = new Map<string, string>();
  for (const [app, spec] of apps) {
    if (RESERVED_APP_NAMES.includes(app)) {
      issue(ctx, ['apps', app], `"${app}" is reserved: dist/k8s/<env>/${app}/ holds every environment's ${app === 'apps' ? 'Applications' : 'root Application'}; rename the app`);
    }
    const declared = Object.keys(spec.environments ?? {});
    for (const env of envNames.filter((name) => !declared.includes(name))) {
      issue(ctx, ['apps', app, 'environments', env], `required: the app runs in every environment of the model (${envNames.join(', ')}); declare its host, tag, replicas and resources`);
    }
    for (const env of declared) {
      if (!envNames.includes(env)) {
        issue(ctx, ['apps', app, 'environments', env], `no such environment; the model declares: ${envNames.join(', ')}`);
        continue;
      }
      const namespace = appNamespace(app, env);
      if (!DNS_LABEL.test(namespace)) {
        issue(ctx, ['apps', app], `its namespace in ${env}, "${namespace}", is longer than 63 characters; shorten the app name`);
      }
      const previous = namespaces.get(namespace);
      if (previous) issue(ctx, ['apps', app], `its namespace in ${env}, "${namespace}", is also ${previous}'s; rename one of the apps`);
      else namespaces.set(namespace, `app ${app} in ${env}`);

      const environment = model.environments[env];
      if (exposureOf(spec.environments[env]) === 'public' && environment?.certificateIssuer === 'letsencrypt-staging') {
        issue(
          ctx,
          ['environments', env, 'certificateIssuer'],
          `app ${app} is public in ${env} (a proxied Cloudflare record) and Full (strict) refuses Let's Encrypt staging certificates (error 526); use "letsencrypt-prod", or make apps.${app}.environments.${env}.exposure "mesh"`,
        );
      }
      const resources = spec.environments[env].resources;
      const path = ['apps', app, 'environments', env, 'resources', 'requests'];
      if (resources && cpuMillis(resources.requests.cpu) > cpuMillis(resources.limits.cpu)) {
        issue(ctx, [...path, 'cpu'], `exceeds limits.cpu (${resources.limits.cpu}); a request must fit in its limit`);
      }
      if (resources && memoryBytes(resources.requests.memory) > memoryBytes(resources.limits.memory)) {
        issue(ctx, [...path, 'memory'], `exceeds limits.memory (${resources.limits.memory}); a request must fit in its limit`);
      }
    }
    if (spec.health && spec.health.readinessPath === spec.health.livenessPath) {
      issue(ctx, ['apps', app, 'health', 'livenessPath'], 'must differ from readinessPath: a liveness check that waits for dependencies restarts pods that are only unready');
    }
    const secretNames = new Set<string>();
    (spec.secrets ?? []).forEach((secret, index) => {
      if (secretNames.has(secret.name)) issue(ctx, ['apps', app, 'secrets', index, 'name'], 'is already declared; secret names are unique per app');
      secretNames.add(secret.name);
    });
  }
}

/** Every volume and its snapshot reserve fit below Ceph's nearfull ratio (config/capacity.ts). */
function checkCapacity(model: Model, ctx: Ctx): void {
  const problem = capacityProblem(model);
  if (problem) issue(ctx, ['ceph', 'capacityGiB'], problem);
}
