/**
 * HashiCorp Vault: the official chart (server with integrated Raft storage on a `ceph-rbd`
 * volume, TLS on its listener, the agent injector), and our own objects: the namespace and its
 * NetworkPolicies, the listener's certificate, the Ingress on `services.vault.host`, and Vault's
 * own configuration as code (charts/security/vault-config.ts) with the Job that applies it.
 *
 * Sealed on every start. With `vault.autoUnseal` it unseals itself through AWS KMS (the `seal
 * "awskms"` stanza, credentials from the hand-made Secret `vault-awskms`); without it, unsealing is
 * a manual step (README runbook). The server's readiness probe fails while sealed, so Argo CD
 * reports the Application Progressing until it is unsealed; its liveness probe accepts a sealed
 * server, so Kubernetes does not restart it in a loop.
 *
 * @see https://developer.hashicorp.com/vault/docs/platform/k8s/helm/configuration
 * @see docs/decisions/0020-vault-tls-and-agent-trust.md, 0021-vault-configuration-as-code.md,
 *   0089-vault-auto-unseal-aws-kms.md
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { Platform } from '../../config';
import { nodeLabels } from '../../config/topology';
import { CHARTS, IMAGES } from '../../config/versions';
// Types only: the render path loads no generated classes it does not need.
import type { CertificateSpec } from '../../imports/cert-manager-certificate-cert-manager.io';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, MUTATING_WEBHOOK, resources } from '../lib/kinds';
import { TlsIngress } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import {
  apiServerCallers,
  connect,
  dnsAccess,
  exposedThroughIngress,
  INGRESS_CONTROLLER,
  INTERNET,
  kubeApiAccess,
  type Connection,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import { STORAGE_CLASS, placedNode } from '../lib/placement';
import type { ServiceRegistration } from '../lib/service';
import {
  VAULT_ADDRESS,
  VAULT_AGENT_GID,
  VAULT_AGENT_UID,
  VAULT_AUDIENCE,
  VAULT_NAMESPACE,
  VAULT_PORT,
  VAULT_SERVER,
  VAULT_SERVICE,
  VAULT_TOKEN_EXPIRATION_SECONDS,
  VAULT_TOKEN_VOLUME,
  vaultAgentLabels,
  vaultTlsServerName,
  type SecretConsumer,
} from '../lib/vault';
import { WorkloadCronJob, WorkloadJob, WorkloadPod, WorkloadVolume, type WorkloadPodProps } from '../lib/workload';
import { ADMIN_ROLE, CONFIG_DIR, JOB_TOKEN_DIR, TLS_DIR, configFiles, serverConfig, type VaultAuthSettings } from './vault-config';
import { RESTRICTED_CONTAINER_SECURITY, restrictedPodValues } from '../lib/security-context';
import type { VaultValues } from '../../imports/charts';

/**
 * The Secret with the `vault-unseal` IAM user's access key, made by hand (README runbook) before
 * Argo CD starts: Vault reads it as environment variables, the way the awskms seal documentation
 * recommends over keys in the configuration file (hashicorp/vault
 * website/content/docs/configuration/seal/awskms.mdx, "Authentication").
 */
/** The model's `vault.autoUnseal`: the AWS region and the KMS key alias. */
export type AutoUnsealModel = NonNullable<Platform['vault']['autoUnseal']>;

export const AWS_KMS_SECRET = { name: 'vault-awskms', keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] } as const;

/**
 * The `seal "awskms"` stanza, or nothing (Shamir). The region and the key alias are not secret;
 * the credentials stay out of the configuration (a ConfigMap the chart renders) and come from
 * AWS_KMS_SECRET.
 */
export function sealConfig(autoUnseal: AutoUnsealModel | undefined): string {
  if (!autoUnseal) return '';
  return `
# Auto-unseal: AWS KMS decrypts the root key at every start; credentials from the environment
# (Secret ${AWS_KMS_SECRET.name}). The Shamir keys of \`vault operator init\` are recovery keys.
seal "awskms" {
  region     = "${autoUnseal.region}"
  kms_key_id = "${autoUnseal.keyAlias}"
}
`;
}

/**
 * Environment variables from AWS_KMS_SECRET, as vault-helm v0.34.1 renders
 * `server.extraSecretEnvironmentVars` into the server container (templates/_helpers.tpl
 * "vault.extraSecretEnvironmentVars": a secretKeyRef per entry, not optional, so the pod waits in
 * CreateContainerConfigError until the Secret exists; templates/server-statefulset.yaml).
 */
function awsKmsCredentials() {
  return AWS_KMS_SECRET.keys.map((key) => ({ envName: key, secretName: AWS_KMS_SECRET.name, secretKey: key }));
}

/** The Helm release: with the chart's name it names the server `vault` and the Service `vault`. */
export const VAULT_RELEASE = 'vault';

/** The agent injector's webhook pods (the chart labels them `app.kubernetes.io/name: vault-agent-injector`). */
export const INJECTOR: Workload = { namespace: VAULT_NAMESPACE, name: 'vault-agent-injector', ports: { webhook: 8080 } };
/** The Job (and CronJob) that applies Vault's configuration; it calls Vault and nothing calls it. */
export const CONFIG_JOB: Workload = { namespace: VAULT_NAMESPACE, name: ADMIN_ROLE, receivesNothing: true };

/** The listener's certificate: issued for the public host by the production issuer (DNS-01). */
export const LISTENER_CERTIFICATE = { name: 'vault-server', secretName: 'vault-server-tls' } as const;
/** The ConfigMap with Vault's configuration as code (mounted in the Job and in the server). */
export const CONFIG_MAP = ADMIN_ROLE;

const [VAULT_IMAGE_REPOSITORY, VAULT_IMAGE_TAG] = IMAGES.vault.split(':');

/** Pod and container security contexts, restricted: the image's `vault` user, nothing else. */
const POD_SECURITY_CONTEXT = restrictedPodValues({ uid: VAULT_AGENT_UID, gid: VAULT_AGENT_GID, fsGroup: VAULT_AGENT_GID, fsGroupChangeOnRootMismatch: false });
const CONTAINER_SECURITY_CONTEXT = RESTRICTED_CONTAINER_SECURITY;

/**
 * The server's readiness probe is the chart's `vault status` (fails while sealed); liveness asks
 * the health endpoint with sealed and uninitialised answering 204, so a sealed server lives on.
 */
const LIVENESS_PATH = '/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204';

/** The sidecar that SIGHUPs Vault when cert-manager renews its certificate. */
function tlsReloader() {
  return {
    name: 'tls-reloader',
    image: IMAGES.vault,
    imagePullPolicy: 'IfNotPresent',
    command: ['/bin/sh', `${CONFIG_DIR}/tls-reloader.sh`],
    securityContext: CONTAINER_SECURITY_CONTEXT,
    resources: resources('5m', '16Mi', '50m', '32Mi'),
    volumeMounts: [
      { name: 'tls', mountPath: TLS_DIR, readOnly: true },
      { name: 'platform-config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'reloader-tmp', mountPath: '/tmp' },
    ],
    readinessProbe: { exec: { command: ['test', '-s', `${TLS_DIR}/tls.crt`] }, periodSeconds: 30 },
    // The loop touches /tmp/alive every minute; a hung loop stops touching it.
    livenessProbe: { exec: { command: ['/bin/sh', '-c', 'test -n "$(find /tmp/alive -mmin -5)"'] }, initialDelaySeconds: 180, periodSeconds: 60 },
  };
}

/** With failurePolicy Fail, a second replica keeps consumers schedulable during a restart. */
function injectorReplicas(nodeCount: number): number {
  return Math.min(2, nodeCount);
}

/** The model's slice the chart's values read. */
export interface VaultChartProps {
  /** The node the server runs on (`services.vault.node`). */
  readonly node: string;
  /** The size of the server's Raft volume in GiB (`vault.storageGiB`). */
  readonly storageGiB: number;
  /** The listener certificate's name, which the vault CLI in the pod verifies (`services.vault.host`). */
  readonly tlsServerName: string;
  /**
   * Unseal through AWS KMS (`vault.autoUnseal`).
   * @default - Shamir: unsealed by hand (README runbook)
   */
  readonly autoUnseal?: AutoUnsealModel;
  /** The cluster's number of nodes: the injector runs on up to two of them. */
  readonly nodeCount: number;
}

/** The pinned official chart with its values. */
export function vaultChart(props: VaultChartProps) {
  return {
  ...CHARTS.vault,
  releaseName: VAULT_RELEASE,
  values: {
    global: { tlsDisable: false, serverTelemetry: { prometheusOperator: false } },
    server: {
      image: { repository: VAULT_IMAGE_REPOSITORY, tag: VAULT_IMAGE_TAG },
      resources: resources('100m', '256Mi', '1', '512Mi'),
      nodeSelector: nodeLabels(props.node),
      // One server with integrated storage (Raft): the model places Vault on one node; a
      // disruption budget for one replica could only block node drains.
      standalone: { enabled: false },
      ha: { enabled: true, replicas: 1, raft: { enabled: true, setNodeId: true, config: serverConfig() + sealConfig(props.autoUnseal) }, disruptionBudget: { enabled: false } },
      dataStorage: { enabled: true, size: `${props.storageGiB}Gi`, storageClass: STORAGE_CLASS },
      // The audit device writes to stdout (bootstrap.sh, apply.sh): no volume that can fill up.
      auditStorage: { enabled: false },
      // The vault CLI inside the pod verifies the certificate's name like every other client.
      extraEnvironmentVars: { VAULT_TLS_SERVER_NAME: props.tlsServerName },
      ...(props.autoUnseal ? { extraSecretEnvironmentVars: awsKmsCredentials() } : {}),
      volumes: [
        { name: 'tls', secret: { secretName: LISTENER_CERTIFICATE.secretName } },
        { name: 'platform-config', configMap: { name: CONFIG_MAP } },
        { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
        { name: 'reloader-tmp', emptyDir: { sizeLimit: '1Mi' } },
      ],
      volumeMounts: [
        { name: 'tls', mountPath: TLS_DIR, readOnly: true },
        { name: 'platform-config', mountPath: CONFIG_DIR, readOnly: true },
        // The chart's entrypoint writes the rendered configuration to /tmp.
        { name: 'tmp', mountPath: '/tmp' },
      ],
      statefulSet: { securityContext: { pod: POD_SECURITY_CONTEXT, container: CONTAINER_SECURITY_CONTEXT } },
      livenessProbe: { enabled: true, path: LIVENESS_PATH, initialDelaySeconds: 60 },
      shareProcessNamespace: true,
      extraContainers: [tlsReloader()],
      // Kubernetes auth reviews tokens with Vault's own service account (VAULT-07).
      authDelegator: { enabled: true },
      serviceAccount: { create: true, serviceDiscovery: { enabled: true } },
      // Our Ingress and NetworkPolicies are rendered in this folder.
      ingress: { enabled: false },
      networkPolicy: { enabled: false },
    },
    injector: {
      enabled: true,
      replicas: injectorReplicas(props.nodeCount),
      agentImage: { repository: VAULT_IMAGE_REPOSITORY, tag: VAULT_IMAGE_TAG },
      agentDefaults: {
        cpuRequest: '10m',
        cpuLimit: '200m',
        memRequest: '32Mi',
        memLimit: '128Mi',
        template: 'map',
        templateConfig: { exitOnRetryFailure: true },
      },
      resources: resources('25m', '64Mi', '250m', '128Mi'),
      securityContext: {
        pod: restrictedPodValues({ uid: VAULT_AGENT_UID, gid: VAULT_AGENT_GID }),
        container: CONTAINER_SECURITY_CONTEXT,
      },
      // Only pods that ask for an agent pass through the webhook, and they are refused while it
      // is down instead of starting without their secrets.
      webhook: { failurePolicy: 'Fail', timeoutSeconds: 10, objectSelector: { matchLabels: vaultAgentLabels() } },
    },
    ui: { enabled: false },
    csi: { enabled: false },
  } satisfies VaultValues,
  // The injector generates its TLS certificate at start and writes the CA into its webhook
  // configuration (the chart renders `caBundle` from injector.certs.caBundle, empty here); with
  // several replicas the leader keeps the certificate in the `vault-injector-certs` Secret the
  // chart renders without data. Blanking either would break every injected pod (failurePolicy
  // Fail). hashicorp/vault-helm v0.34.1: templates/injector-mutating-webhook.yaml,
  // templates/injector-certs-secret.yaml (rendered when leaderElector.enabled and replicas > 1).
  ignoreDifferences: [
    {
      group: 'admissionregistration.k8s.io',
      kind: 'MutatingWebhookConfiguration',
      name: `${VAULT_RELEASE}-agent-injector-cfg`,
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
      writtenBy: 'the Vault agent injector',
    },
    ...(injectorReplicas(props.nodeCount) > 1
      ? [{ group: '', kind: 'Secret', name: 'vault-injector-certs', namespace: VAULT_NAMESPACE, jsonPointers: ['/data'], writtenBy: 'the Vault agent injector (leader)' }]
      : []),
  ],
  clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING, MUTATING_WEBHOOK],
  persistentVolumeClaims: true,
  };
}

/** The model's slice Vault's own folder reads. */
export interface VaultProps {
  /** The public host (`services.vault.host`): the listener certificate's name and the Ingress' host. */
  readonly host: string;
  /** The cert-manager ClusterIssuer of the listener's certificate and the Ingress (the platform's). */
  readonly issuer: string;
  /** Token lifetimes and the pod network of every Kubernetes-auth role. */
  readonly auth: VaultAuthSettings;
  /**
   * Every workload of the render that reads secrets from Vault: a policy and a role each.
   * @default - none: only the admin and the raft snapshot pairs
   */
  readonly secretConsumers?: readonly SecretConsumer[];
  /** The render's network plan: the NetworkPolicies of Vault's namespace come from it. */
  readonly plan: NetworkPlan;
}

/**
 * Vault's own folder: the namespace and its NetworkPolicies, the listener's certificate, the
 * Ingress, the configuration as code (a ConfigMap) and the Job and hourly CronJob that apply it.
 * The server and the injector are the registration's `helm` source.
 */
export class Vault extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'vault',
    namespace: VAULT_NAMESPACE,
    // After cert-manager's issuers (its certificate), ceph-csi's StorageClass (its volume) and the
    // ingress controller; before every consumer of secrets.
    syncWave: 3,
    helm: (platform: Platform) =>
      vaultChart({
        node: placedNode(platform, 'vault'),
        storageGiB: platform.vault.storageGiB,
        tlsServerName: vaultTlsServerName(platform),
        autoUnseal: platform.vault.autoUnseal,
        nodeCount: Object.keys(platform.nodes).length,
      }),
    connections: (platform: Platform): Connection[] => [
      dnsAccess(VAULT_SERVER),
      // TokenReviews of the Kubernetes auth method, and the service registration's pod labels.
      ...kubeApiAccess(VAULT_SERVER, platform),
      exposedThroughIngress(VAULT_SERVER, 'https'),
      // AWS KMS has no address range of its own to name: the regional endpoint over HTTPS.
      ...(platform.vault.autoUnseal
        ? [{ from: { workload: VAULT_SERVER }, to: { network: INTERNET }, ports: [{ port: 443 }], purpose: `AWS KMS in ${platform.vault.autoUnseal.region} (auto-unseal)` }]
        : []),
      // Sign-in through GitLab: the OIDC method reads GitLab's discovery document and keys and
      // redeems codes at its token endpoint, through the ingress controller (decisions 0101, 0117).
      connect({ workload: VAULT_SERVER }, INGRESS_CONTROLLER, ['https'], 'GitLab, the OIDC provider (discovery, keys, token endpoint)'),
      // Prometheus scrapes Vault through its Service name (TLS verified against it): the
      // observability targets declare that connection (charts/observability/targets.ts).
      dnsAccess(INJECTOR),
      ...kubeApiAccess(INJECTOR, platform),
      connect({ network: apiServerCallers(platform) }, INJECTOR, ['webhook'], 'admission webhook (injects the Vault agent)'),
      dnsAccess(CONFIG_JOB),
      connect({ workload: CONFIG_JOB }, VAULT_SERVER, ['https'], "applies Vault's configuration"),
    ],
  };

  constructor(scope: Construct, id: string, props: VaultProps) {
    super(scope, id);
    const { host, issuer } = props;
    new PlatformNamespace(this, 'namespace', { name: VAULT_NAMESPACE, workloads: [VAULT_SERVER, INJECTOR, CONFIG_JOB], plan: props.plan });

    const certificate: CertificateSpec = {
      secretName: LISTENER_CERTIFICATE.secretName,
      dnsNames: [host],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer },
      revisionHistoryLimit: 2,
    };
    // A custom resource with its generated spec type (the class itself stays out of the render path).
    new ApiObject(this, 'certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: LISTENER_CERTIFICATE.name, namespace: VAULT_NAMESPACE, labels: standardLabels(LISTENER_CERTIFICATE.name, 'certificate') },
      spec: certificate,
    });

    new TlsIngress(this, 'ingress', {
      name: VAULT_SERVICE,
      namespace: VAULT_NAMESPACE,
      host,
      serviceName: VAULT_SERVICE,
      servicePort: VAULT_PORT,
      issuer,
      // Vault serves only TLS: the controller re-encrypts to it.
      backendProtocol: 'HTTPS',
    });

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: CONFIG_MAP, namespace: VAULT_NAMESPACE, labels: standardLabels(CONFIG_MAP, 'configuration') },
      data: configFiles(props.auth, props.secretConsumers ?? []),
    });

    // One pod, one ServiceAccount and one ConfigMap (above, shared with the server) for the hook
    // Job and the hourly CronJob: both run the same apply.sh the same way.
    const pod = new WorkloadPod(this, 'config-pod', configPod(host));
    new WorkloadJob(this, 'config-job', {
      pod,
      annotations: {
        // After every sync of this Application, once Vault is healthy (unsealed).
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      },
      backoffLimit: 2,
      activeDeadlineSeconds: 300,
      ttlSecondsAfterFinished: 86400,
    });
    new WorkloadCronJob(this, 'config-cronjob', {
      pod,
      name: `${ADMIN_ROLE}-reconcile`,
      // Hourly, so a change made by hand in Vault is reverted to what Git declares.
      schedule: '23 * * * *',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      backoffLimit: 1,
      activeDeadlineSeconds: 300,
    });
  }
}

/**
 * The pod that runs apply.sh: the Vault CLI, logged in with its own projected token (audience
 * vault) under the `vault-config` ServiceAccount, which holds no API token (it calls Vault only).
 */
function configPod(host: string): WorkloadPodProps {
  return {
    workload: CONFIG_JOB,
    component: 'config-job',
    containerName: 'apply',
    image: IMAGES.vault,
    imagePullPolicy: 'IfNotPresent',
    identity: { uid: VAULT_AGENT_UID, gid: VAULT_AGENT_GID },
    command: ['/bin/sh', `${CONFIG_DIR}/apply.sh`],
    env: [
      { name: 'VAULT_ADDR', value: VAULT_ADDRESS },
      { name: 'VAULT_TLS_SERVER_NAME', value: host },
      { name: 'HOME', value: '/tmp' },
    ],
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    volumes: [
      WorkloadVolume.configMap('config', CONFIG_MAP, [{ mountPath: CONFIG_DIR }]),
      WorkloadVolume.serviceAccountToken(VAULT_TOKEN_VOLUME, JOB_TOKEN_DIR, { audience: VAULT_AUDIENCE, expirationSeconds: VAULT_TOKEN_EXPIRATION_SECONDS }),
      WorkloadVolume.emptyDir('tmp', '/tmp', '16Mi'),
    ],
  };
}
