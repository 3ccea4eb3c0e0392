/**
 * Jenkins, rendered by our own constructs (docs/decisions/0041-jenkins-rendered-here.md):
 *
 *  - the controller StatefulSet (pinned image, `jenkins` namespace, placed per
 *    `services.jenkins.node`, JENKINS_HOME on `ceph-rbd`); an init container installs the plugins
 *    pinned in config/versions.ts into an emptyDir, so every start runs exactly that set;
 *  - Configuration as Code (JCasC) rendered from the model into a ConfigMap: sign-in through GitLab
 *    (OIDC, GitLab groups as permissions, a break-glass login; decision 0120), the
 *    GitLab connection, credentials read from the files the Vault agent writes (into /run/secrets,
 *    where JCasC resolves `${name}` from the file `name`), the Kubernetes cloud with the pod
 *    templates in the `builds` namespace, and one pipeline job per app, triggered by GitLab's
 *    webhook and loading its Jenkinsfile from this repository (dist/pipelines/<app>/Jenkinsfile);
 *  - the build pods' templates, which run in the `builds` namespace (charts/build/builds.ts, Pod
 *    Security `baseline`, where the controller may manage pods and nothing else): `kaniko-<app>`, one per app (jnlp,
 *    Kaniko without any credential, crane and tools with that app's push robot from Vault at
 *    /run/registry/config.json) and `deploy-agent` (jnlp, tools; restricted).
 *
 * Build pods reach GitLab and Harbor through the cluster's ingress controller (hostAliases to
 * `cluster.ingressAddress`) rather than through Cloudflare, which would cap image layer uploads.
 *
 * @see https://github.com/jenkinsci/configuration-as-code-plugin
 * @see https://plugins.jenkins.io/kubernetes/
 */
import { createHash } from 'node:crypto';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { JENKINS_HOME_GIB } from '../../config/capacity';
import { IMAGES, JENKINS_PLUGINS } from '../../config/versions';
import { DELIVERY_SYNC_WAVE } from '../lib/sync-waves';
import { TlsIngress } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import {
  INGRESS_CONTROLLER,
  INTERNET,
  NAME_LABEL,
  connect,
  dnsAccess,
  exposedThroughIngress,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
} from '../lib/network';
import { STORAGE_CLASS } from '../lib/placement';
import { WorkloadStatefulSet, WorkloadVolume, type WorkloadResources } from '../lib/workload';
import { policyExceptions } from '../../common/policy-exceptions';
import type { ServiceRegistration } from '../lib/service';
import { rawValueSecret, secretPath, vaultAgentLabels, vaultAgentPodFor, vaultTokenVolume, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { appPushRobots, type AppPushRobot } from '../../config/harbor-robots';
import { BUILDS_NAMESPACE, DEPLOY_AGENT } from '../lib/delivery';
import { GITLAB_GROUPS_CLAIM, GITLAB_USERNAME_CLAIM, OIDC_CLIENT_ID_KEY, OIDC_CLIENT_SECRET_KEY, OIDC_SCOPES, gitlabEndpoints, gitlabIssuer, oidcClientDataPath, ssoGroups } from '../lib/sso';
import {
  CREDENTIALS,
  GITLAB_CONNECTION,
  JENKINS,
  JENKINS_NAMESPACE,
  KANIKO_AGENT,
  kanikoAgent,
  PIPELINE_BRANCH,
  buildAgentName,
  REGISTRY_CONFIG_DIR,
  pipelinePath,
} from './names';
import { restrictedPod } from './pod-security';
import { KANIKO_CONTAINER_SECURITY, restrictedContainerSecurity } from '../lib/security-context';
import { containerResources } from '../lib/workload';
import { resources } from '../lib/kinds';
import { RUNTIME_DEFAULT_SECCOMP } from '../lib/security-context';

/** The in-cluster URL the agents connect to (WebSocket over the HTTP port). */
export const JENKINS_IN_CLUSTER_URL = `http://jenkins.${JENKINS_NAMESPACE}.svc.cluster.local:8080/`;
/** The ConfigMap with jenkins.yaml (JCasC) and plugins.txt. */
export const CONFIG_MAP = 'jenkins-config';
export const CONFIG_HASH_ANNOTATION = 'platform-synthesizer.io/config-hash';

/** One app's pipeline job (the model's `apps.<app>`). */
export interface PipelineJob {
  /** The app's name: the job's name, and the folder of its Jenkinsfile. */
  readonly app: string;
  /** Its GitLab project (`apps.<app>.repository`), named in the job's description. */
  readonly repository: string;
  /** The environments it deploys to, in order (the model's environments). */
  readonly environments: readonly string[];
}

/** What the build pods' templates read. */
export interface AgentPodsProps {
  /** GitLab's host (`services.gitlab.host`): the pods clone from it and push to it. */
  readonly gitlabHost: string;
  /** Harbor's host (`services.harbor.host`): the build pod pushes there. */
  readonly registryHost: string;
  /** The ingress controller's address (`cluster.ingressAddress`): GitLab and Harbor are reached through it. */
  readonly ingressAddress: string;
  /** Vault's TLS server name (`vaultTlsServerName`), for the build pod's Vault agent. */
  readonly vaultTlsServerName: string;
  /**
   * The apps' push robots (`appPushRobots`): one build pod template per app, whose pods get that
   * app's robot and no other (docs/decisions/0119).
   */
  readonly pushRobots: readonly AppPushRobot[];
  /**
   * Run the build pod in its own user namespace (`delivery.userNamespaces`, decision 0106).
   * @default false
   */
  readonly userNamespaces?: boolean;
  /**
   * Kaniko's image (`delivery.kanikoImage`).
   * @default IMAGES.kaniko
   */
  readonly kanikoImage?: string;
}

/** What Configuration as Code reads. */
export interface JenkinsCascProps extends AgentPodsProps {
  /** Jenkins' own host (`services.jenkins.host`): its URL and GitLab's webhooks. */
  readonly host: string;
  /** The platform's domain, named in the system message. */
  readonly domain: string;
  /** The administrator's address (`acmeEmail`). */
  readonly adminEmail: string;
  /** This repository (`git`): the jobs load their Jenkinsfiles from it. */
  readonly git: { readonly repoURL: string; readonly targetRevision: string };
  /** One pipeline job per app, in the model's order. */
  readonly jobs: readonly PipelineJob[];
  /**
   * Sign-in through GitLab, with GitLab groups mapped to permissions; the local `admin` becomes
   * the realm's break-glass login.
   * @default - the local `admin` user only, every signed-in user may do anything
   */
  readonly sso?: JenkinsSso;
}

export interface JenkinsProps extends JenkinsCascProps {
  /** The node the controller runs on (`services.jenkins.node`, checked by `placedNode`). */
  readonly node: string;
  /** The ClusterIssuer of the Ingress's certificate. */
  readonly issuer: string;
  /** Every connection of the render, for the namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

const JENKINS_UID = 1000; // the `jenkins` user of the official controller and inbound-agent images
const NODE_UID = 1000; // the `node` user of the official Node image
const JENKINS_HOME = '/var/jenkins_home';
const CASC_DIR = '/var/jenkins_config';
/** Where JCasC looks up `${name}` as a file by default (its Docker and Kubernetes secret sources). */
const JCASC_SECRETS_DIR = '/run/secrets';

/**
 * Jenkins' own secrets, each at `secret/data/jenkins/<name>` (key `value`), as JCasC variables.
 * `admin-password` is the break-glass login's (the OIDC realm's escape hatch, decision 0120).
 */
export const JENKINS_SECRETS = ['admin-password', 'gitlab-api-token', 'gitlab-username', 'gitlab-password', 'gitlab-webhook-token'] as const;

/** The GitLab access token of the Jenkins user (api, read and write repository): GitLab issues it. */
const ISSUED_BY_GITLAB: readonly string[] = ['gitlab-api-token', 'gitlab-password'];

/** Jenkins' OAuth application in GitLab (the SSO contract's entry, keys `client_id`, `client_secret`). */
export const OIDC_CLIENT_PATH = oidcClientDataPath('jenkins');
/** The JCasC variables (files in /run/secrets) of the OIDC client's id and secret. */
export const OIDC_CLIENT_FILES = { [OIDC_CLIENT_ID_KEY]: 'oidc-client-id', [OIDC_CLIENT_SECRET_KEY]: 'oidc-client-secret' } as const;

export const JENKINS_CONSUMER: SecretConsumer = {
  name: 'jenkins',
  namespace: JENKINS_NAMESPACE,
  serviceAccount: 'jenkins',
  secrets: [
    ...JENKINS_SECRETS.map((name) => ({
      ...rawValueSecret('jenkins', name, 'value'),
      ...(ISSUED_BY_GITLAB.includes(name) ? { issuedBy: 'gitlab' } : {}),
    })),
    // GitLab issues the client when the operator registers Jenkins' application there.
    ...Object.entries(OIDC_CLIENT_FILES).map(([key, name]) => ({
      name,
      keys: [key],
      path: OIDC_CLIENT_PATH,
      issuedBy: 'gitlab',
      template: `{{- with secret "${OIDC_CLIENT_PATH}" -}}{{ index .Data.data "${key}" }}{{- end }}`,
    })),
  ],
};

/** The break-glass login of the OIDC realm (its escape hatch), with `admin-password` from Vault. */
export const BREAK_GLASS_USER = 'break-glass';

/** Sign-in through GitLab (decision 0120). */
export interface JenkinsSso {
  /** GitLab's issuer (`gitlabIssuer`): discovery at `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** Direct members administer Jenkins (Overall/Administer). */
  readonly adminGroup: string;
  /** Direct members may read Jenkins and its jobs and builds, nothing else. */
  readonly viewerGroup: string;
}

/** The file name of the registry credential's secret in the build pod (the Vault agent's template). */
export const REGISTRY_SECRET = 'registry';

/** The containers of the build pod that get the registry credential. */
export const REGISTRY_CREDENTIAL_CONTAINERS = ['crane', 'tools'] as const;

/**
 * One app's registry credential: the Vault agent renders Docker's config.json from that app's
 * push robot (Harbor's setup Job creates it with the secret of the same entry). Its own Vault role
 * and ServiceAccount (`kaniko-<app>`), so a build pod of another app cannot read it.
 */
export function harborPushConsumer(registry: string, robot: AppPushRobot): SecretConsumer {
  const account = buildAgentName(robot.app);
  const consumer: SecretConsumer = { name: account, namespace: BUILDS_NAMESPACE, serviceAccount: account, workload: kanikoAgent([robot.app]), secrets: [] };
  const secret: VaultSecret = { name: REGISTRY_SECRET, keys: ['username', 'password'], path: robot.vaultPath };
  const path = secretPath(consumer, secret);
  return {
    ...consumer,
    secrets: [
      {
        ...secret,
        template: `{{- with secret "${path}" -}}{"auths":{"${registry}":{"auth":"{{ printf "%s:%s" .Data.data.username .Data.data.password | base64Encode }}"}}}{{- end -}}`,
      },
    ],
  };
}

/** Git and registry through the ingress controller inside the cluster, not around through Cloudflare. */
function hostAliases(ingressAddress: string, hosts: readonly string[]) {
  return [{ ip: ingressAddress, hostnames: [...hosts] }];
}

// ---- the build pods (the Kubernetes cloud's pod templates) ---------------------------------

/**
 * Writable scratch of the build pods' restricted containers (their root filesystems are
 * read-only): one emptyDir each, mounted whole (an emptyDir's own directory is writable by any
 * user; a sub-path directory kubelet creates would belong to root).
 */
const AGENT_SCRATCH: readonly k8s.Volume[] = [
  { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
  { name: 'jenkins-home', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
  { name: 'node-home', emptyDir: { sizeLimit: k8s.Quantity.fromString('2Gi') } },
];

/**
 * A pod template of the Kubernetes cloud: a typed Pod, written into the JCasC as YAML (the
 * plugin reads it as a Pod manifest), with the keys in the order of every rendered manifest.
 */
export interface AgentPod {
  readonly metadata: k8s.ObjectMeta;
  readonly spec: k8s.PodSpec;
}

/** The manifest of a pod template, as the JCasC holds it. */
export function agentPodManifest(pod: AgentPod): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: k8s.toJson_ObjectMeta(pod.metadata), spec: k8s.toJson_PodSpec(pod.spec) };
}

function jnlpContainer(): k8s.Container {
  return {
    name: 'jnlp',
    image: IMAGES.jenkinsAgent,
    securityContext: restrictedContainerSecurity({ uid: JENKINS_UID }),
    resources: containerResources(resources('100m', '256Mi', '1', '512Mi')),
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'jenkins-home', mountPath: '/home/jenkins' },
    ],
  };
}

function toolsContainer(): k8s.Container {
  return {
    name: 'tools',
    image: IMAGES.pipelineTools,
    // Kept alive for the steps Jenkins runs in it.
    command: ['sleep'],
    args: ['infinity'],
    env: [{ name: 'HOME', value: '/home/node' }],
    securityContext: restrictedContainerSecurity({ uid: NODE_UID }),
    resources: containerResources(resources('250m', '512Mi', '2', '2Gi')),
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'node-home', mountPath: '/home/node' },
    ],
  };
}

/**
 * The container that pushes the tarball Kaniko wrote: crane, reading nothing from the workspace
 * but that tarball, with the credential in DOCKER_CONFIG. A Dockerfile step can change the
 * tarball (its own app's image, which the scan then judges) but never read the credential.
 * @see https://github.com/google/go-containerregistry/blob/v0.21.9/cmd/crane/cmd/push.go (prints the pushed digest)
 */
function craneContainer(): k8s.Container {
  return {
    name: 'crane',
    image: IMAGES.crane,
    // Kept alive for the steps Jenkins runs in it (the debug image's busybox).
    command: ['/busybox/cat'],
    tty: true,
    env: [
      { name: 'DOCKER_CONFIG', value: REGISTRY_CONFIG_DIR },
      { name: 'HOME', value: '/tmp' },
    ],
    // The agent's uid, like tools: the steps Jenkins runs here write their output and exit code
    // into the control folder the jnlp container creates in the workspace.
    securityContext: restrictedContainerSecurity({ uid: JENKINS_UID }),
    resources: containerResources(resources('100m', '128Mi', '1', '512Mi')),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

/**
 * The pod of the `kaniko` template: checkout, test and build with Kaniko into a tarball (no
 * credential), push with crane, scan check (docs/decisions/0105-build-without-the-registry-credential.md).
 */
export function kanikoPod(props: AgentPodsProps, robot: AppPushRobot): AgentPod {
  const consumer = harborPushConsumer(props.registryHost, robot);
  return {
    metadata: {
      labels: { ...standardLabels(KANIKO_AGENT.name, 'build-agent'), ...vaultAgentLabels() },
      annotations: {
        ...vaultAgentPodFor(consumer, props.vaultTlsServerName).annotations,
        // A build pod lives minutes: fetch the credentials once, no agent sidecar.
        'vault.hashicorp.com/agent-pre-populate-only': 'true',
        // Docker's config.json only into the containers that push (crane) or query Harbor (tools);
        // Kaniko builds without it, so the app's Dockerfile steps cannot read it.
        [`vault.hashicorp.com/secret-volume-path-${REGISTRY_SECRET}`]: REGISTRY_CONFIG_DIR,
        [`vault.hashicorp.com/agent-inject-file-${REGISTRY_SECRET}`]: 'config.json',
        'vault.hashicorp.com/agent-inject-containers': REGISTRY_CREDENTIAL_CONTAINERS.join(','),
        ...policyExceptions({
          'K8S-SEC-04': 'Kaniko runs as root and unpacks image filesystems with the runtime default capabilities (it adds none and drops NET_RAW)',
          'K8S-SEC-05': 'Kaniko builds an image by unpacking it into its own root filesystem, which needs root inside the container',
          'K8S-SEC-07': 'Kaniko writes the image it builds into its own root filesystem',
        }),
      },
    },
    spec: {
      // A build pod runs once (the plugin sets this too; explicit, so reviewers and checks see it).
      restartPolicy: 'Never',
      // Kaniko's root maps to an unprivileged uid of the node (decision 0106); only where the
      // model says the nodes' kernels allow it, since a pod that asks for it elsewhere never starts.
      ...(props.userNamespaces ? { hostUsers: false } : {}),
      serviceAccountName: consumer.serviceAccount,
      automountServiceAccountToken: false,
      hostAliases: hostAliases(props.ingressAddress, [props.gitlabHost, props.registryHost]),
      // Pod level: seccomp only. Root is Kaniko's alone; the other containers set their own user.
      securityContext: { seccompProfile: RUNTIME_DEFAULT_SECCOMP },
      containers: [
        jnlpContainer(),
        {
          name: 'kaniko',
          image: props.kanikoImage ?? IMAGES.kaniko,
          // Kept alive for the steps Jenkins runs in it (the -debug image's busybox).
          command: ['/busybox/cat'],
          tty: true,
          securityContext: KANIKO_CONTAINER_SECURITY,
          resources: containerResources(resources('500m', '1Gi', '2', '4Gi')),
        },
        craneContainer(),
        toolsContainer(),
      ],
      volumes: [...AGENT_SCRATCH, vaultTokenVolume()],
    },
  };
}

/** The pod of the `deploy-agent` template: set the image tag in Git, wait for the rollout, smoke tests. */
export function deployAgentPod(props: AgentPodsProps): AgentPod {
  return {
    metadata: { labels: standardLabels(DEPLOY_AGENT.name, 'build-agent') },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: DEPLOY_AGENT.name,
      // It reads its app's Deployment (Roles in the app namespaces) to wait for the rollout.
      automountServiceAccountToken: true,
      hostAliases: hostAliases(props.ingressAddress, [props.gitlabHost]),
      securityContext: restrictedPod(JENKINS_UID),
      containers: [jnlpContainer(), toolsContainer()],
      volumes: [...AGENT_SCRATCH],
    },
  };
}

/**
 * The pod templates by name (the name is also the Jenkins label the Jenkinsfiles ask for): one
 * build template per app (`kaniko-<app>`), and the deploy agent.
 */
export function agentPodTemplates(props: AgentPodsProps): Record<string, Record<string, unknown>> {
  const builds = props.pushRobots.map((robot) => [buildAgentName(robot.app), agentPodManifest(kanikoPod(props, robot))] as const);
  return { ...Object.fromEntries(builds), [DEPLOY_AGENT.name]: agentPodManifest(deployAgentPod(props)) };
}

// ---- Configuration as Code ---------------------------------------------------------------

/** The Job DSL script of an app's pipeline job: GitLab push trigger, Jenkinsfile from this repository. */
export function pipelineJobDsl(git: JenkinsCascProps['git'], job: PipelineJob): string {
  const { app } = job;
  return [
    `pipelineJob('${app}') {`,
    `  description('Delivery of ${job.repository}: build, scan, deploy to ${job.environments.join(', ')}. Rendered from the platform model; the pipeline is ${pipelinePath(app)}.')`,
    '  properties {',
    '    pipelineTriggers {',
    '      triggers {',
    '        gitlab {',
    '          triggerOnPush(true)',
    '          triggerOnMergeRequest(false)',
    '          triggerOnNoteRequest(false)',
    "          branchFilterType('NameBasedFilter')",
    `          includeBranchesSpec('${PIPELINE_BRANCH}')`,
    // Resolved by JCasC from the file the Vault agent writes; GitLab sends it as X-Gitlab-Token.
    "          secretToken('${gitlab-webhook-token}')",
    '        }',
    '      }',
    '    }',
    '  }',
    '  definition {',
    '    cpsScm {',
    '      scm {',
    '        git {',
    '          remote {',
    `            url('${git.repoURL}')`,
    `            credentials('${CREDENTIALS.git}')`,
    '          }',
    `          branch('*/${git.targetRevision}')`,
    '        }',
    '      }',
    `      scriptPath('${pipelinePath(app)}')`,
    '      lightweight(true)',
    '    }',
    '  }',
    '}',
  ].join('\n');
}

/** jenkins.yaml: what Configuration as Code applies at every start. */
export function jenkinsCasc(props: JenkinsCascProps): Record<string, unknown> {
  const { host, gitlabHost: gitlab } = props;
  const templates = Object.entries(agentPodTemplates(props)).map(([name, pod]) => ({
    name,
    label: name,
    namespace: BUILDS_NAMESPACE,
    yaml: toYaml(pod),
    yamlMergeStrategy: 'override',
    showRawYaml: true,
  }));
  return {
    jenkins: {
      systemMessage: `Jenkins of ${props.domain}, configured as code from the platform repository (dist/k8s/platform/jenkins): changes made here are lost at the next start.`,
      numExecutors: 0,
      mode: 'EXCLUSIVE',
      // Agents connect over WebSocket through the HTTP port; no TCP agent port is opened.
      slaveAgentPort: -1,
      ...(props.sso ? oidcSecurity(props.sso) : localSecurity()),
      crumbIssuer: { standard: { excludeClientIPFromCrumb: true } },
      clouds: [
        {
          kubernetes: {
            name: 'kubernetes',
            namespace: BUILDS_NAMESPACE,
            jenkinsUrl: JENKINS_IN_CLUSTER_URL,
            webSocket: true,
            containerCapStr: '10',
            maxRequestsPerHostStr: '32',
            templates,
          },
        },
      ],
    },
    security: { apiToken: { creationOfLegacyTokenEnabled: false, tokenGenerationOnCreationEnabled: false, usageStatisticsEnabled: false } },
    credentials: {
      system: {
        domainCredentials: [
          {
            credentials: [
              {
                gitLabApiTokenImpl: {
                  scope: 'SYSTEM',
                  id: CREDENTIALS.gitlabApi,
                  apiToken: '${gitlab-api-token}',
                  description: 'GitLab API token (scope api) of the Jenkins user: commit statuses',
                },
              },
              {
                usernamePassword: {
                  scope: 'GLOBAL',
                  id: CREDENTIALS.git,
                  username: '${gitlab-username}',
                  password: '${gitlab-password}',
                  description: 'GitLab user and token (read_repository, write_repository): clones the apps, pushes image tags to the platform repository',
                },
              },
            ],
          },
        ],
      },
    },
    unclassified: {
      location: { url: `https://${host}/`, adminAddress: props.adminEmail },
      gitLabConnectionConfig: {
        connections: [
          {
            name: GITLAB_CONNECTION,
            url: `https://${gitlab}`,
            apiTokenId: CREDENTIALS.gitlabApi,
            clientBuilderId: 'autodetect',
            connectionTimeout: 10,
            readTimeout: 10,
            ignoreCertificateErrors: false,
          },
        ],
      },
    },
    jobs: props.jobs.map((job) => ({ script: pipelineJobDsl(props.git, job) })),
  };
}

/** The local `admin` user alone (a model without single sign-on). */
function localSecurity() {
  return {
    securityRealm: {
      local: { allowsSignup: false, users: [{ id: 'admin', name: 'Platform administrator', password: '${admin-password}' }] },
    },
    authorizationStrategy: { loggedInUsersCanDoAnything: { allowAnonymousRead: false } },
  };
}

/**
 * GitLab as OpenID Connect provider (jenkinsci/oic-auth-plugin 4.715.vf202e4229f61
 * docs/configuration/README.md "JCasC configuration reference" and GITLAB.md): discovery from the
 * well-known document, PKCE, user name and groups from GitLab's ID token (`preferred_username`,
 * `groups_direct`, charts/lib/sso.ts; the plugin reads userinfo first and falls back to the ID token,
 * OicSecurityRealm.determineAuthorities). The escape hatch is the break-glass login (a password
 * login beside OIDC, for when GitLab is down), put in the admin group. Permissions by group with
 * matrix-auth (3.2.8 src/test/resources/.../casc/configuration-as-code-v3.yml `entries`).
 */
function oidcSecurity(sso: JenkinsSso) {
  return {
    securityRealm: {
      oic: {
        serverConfiguration: {
          wellKnown: { wellKnownOpenIDConfigurationUrl: gitlabEndpoints(sso.issuer).discovery, scopesOverride: OIDC_SCOPES.join(' ') },
        },
        clientId: `\${${OIDC_CLIENT_FILES[OIDC_CLIENT_ID_KEY]}}`,
        clientSecret: `\${${OIDC_CLIENT_FILES[OIDC_CLIENT_SECRET_KEY]}}`,
        userNameField: GITLAB_USERNAME_CLAIM,
        fullNameFieldName: 'name',
        emailFieldName: 'email',
        groupsFieldName: GITLAB_GROUPS_CLAIM,
        properties: ['pkce', { escapeHatch: { username: BREAK_GLASS_USER, secret: '${admin-password}', group: sso.adminGroup } }],
      },
    },
    authorizationStrategy: {
      globalMatrix: {
        entries: [
          { group: { name: sso.adminGroup, permissions: ['Overall/Administer'] } },
          { group: { name: sso.viewerGroup, permissions: ['Overall/Read', 'Job/Read'] } },
        ],
      },
    },
  };
}

/** Jenkins' sign-in settings from the model: GitLab's issuer and the groups (`sso`). */
export function jenkinsSsoOf(platform: Platform): JenkinsSso {
  const groups = ssoGroups(platform);
  return { issuer: gitlabIssuer(platform), adminGroup: groups.admin, viewerGroup: groups.viewer };
}

/** plugins.txt for jenkins-plugin-cli: `name:version`, one a line. */
export function pluginsTxt(): string {
  return `${Object.entries(JENKINS_PLUGINS)
    .map(([name, version]) => `${name}:${version}`)
    .join('\n')}\n`;
}

// ---- the service ---------------------------------------------------------------------------

export class Jenkins extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'jenkins',
    namespace: JENKINS_NAMESPACE,
    // After GitLab: its Vault agent waits for the GitLab tokens, which only a running GitLab issues.
    syncWave: DELIVERY_SYNC_WAVE,
    connections: (platform: Platform): Connection[] => [
      dnsAccess(JENKINS),
      ...kubeApiAccess(JENKINS, platform),
      exposedThroughIngress(JENKINS, 'http'),
      scrapedBy(JENKINS, 'http'),
      {
        from: { workload: JENKINS },
        to: { network: INTERNET },
        ports: [{ port: 443 }],
        purpose: 'plugin downloads at start (update center and its mirrors)',
      },
      connect({ workload: JENKINS }, INGRESS_CONTROLLER, ['https'], 'GitLab (API, Jenkinsfiles, OIDC sign-in) through the ingress controller'),
      ...[kanikoAgent(Object.keys(platform.apps)), DEPLOY_AGENT].flatMap((agent): Connection[] => [
        dnsAccess(agent),
        connect({ workload: agent }, JENKINS, ['http'], 'agent connection to the controller (WebSocket)'),
        connect({ workload: agent }, INGRESS_CONTROLLER, ['https'], 'GitLab and Harbor through the ingress controller'),
        {
          from: { workload: agent },
          to: { network: INTERNET },
          ports: [{ port: 443 }],
          purpose: agent.name === KANIKO_AGENT.name ? 'base images from public registries' : 'npm registry (npm ci of the platform repository)',
        },
      ]),
      ...kubeApiAccess(DEPLOY_AGENT, platform),
    ],
    // The schema requires Harbor's host (config/schema.ts).
    secretConsumers: (platform: Platform) => [
      JENKINS_CONSUMER,
      ...appPushRobots(platform.apps, platform.harbor.robotLifetimeDays).map((robot) => harborPushConsumer(platform.services.harbor.host!, robot)),
    ],
  };

  constructor(scope: Construct, id: string, props: JenkinsProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: JENKINS_NAMESPACE, workloads: [JENKINS], plan: props.plan });

    const configData = { 'jenkins.yaml': toYaml(jenkinsCasc(props)), 'plugins.txt': pluginsTxt() };
    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: CONFIG_MAP, namespace: JENKINS_NAMESPACE, labels: standardLabels(CONFIG_MAP, 'configuration') },
      data: configData,
    });

    const selector = { [NAME_LABEL]: JENKINS.name };
    const port = JENKINS.ports!.http;
    const http = k8s.IntOrString.fromString('http');
    new k8s.KubeService(this, 'service', {
      metadata: { name: 'jenkins', namespace: JENKINS_NAMESPACE, labels: standardLabels('jenkins', 'service') },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port, targetPort: http }] },
    });
    new k8s.KubeService(this, 'headless-service', {
      metadata: { name: 'jenkins-headless', namespace: JENKINS_NAMESPACE, labels: standardLabels('jenkins-headless', 'service') },
      spec: { clusterIp: 'None', selector, ports: [{ name: 'http', port, targetPort: http }] },
    });

    const configHash = createHash('sha256').update(configData['jenkins.yaml']).update(configData['plugins.txt']).digest('hex').slice(0, 16);
    // The controller on the workload family (docs/decisions/0115). What went live before it stays
    // exactly as it was where Kubernetes forbids a change to a live StatefulSet: the governing
    // Service `jenkins-headless` (rendered above, beside the ClusterIP Service the Ingress uses)
    // and the unlabelled claim template; the ConfigMap keeps its name and its short hash annotation.
    const resources = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string): WorkloadResources => ({
      requests: { cpu, memory },
      limits: { cpu: cpuLimit, memory: memoryLimit },
    });
    const agent = vaultAgentPodFor(JENKINS_CONSUMER, props.vaultTlsServerName);
    new WorkloadStatefulSet(this, 'controller', {
      workload: JENKINS,
      component: 'controller',
      image: IMAGES.jenkins,
      identity: { uid: JENKINS_UID, fsGroup: JENKINS_UID },
      // The controller calls the Kubernetes API (the cloud starts and watches build pods).
      automountToken: true,
      service: false,
      serviceName: 'jenkins-headless',
      node: props.node,
      hostAliases: hostAliases(props.ingressAddress, [props.gitlabHost]),
      env: [
        { name: 'JAVA_OPTS', value: '-Djenkins.install.runSetupWizard=false -XX:MaxRAMPercentage=60' },
        { name: 'CASC_JENKINS_CONFIG', value: `${CASC_DIR}/jenkins.yaml` },
      ],
      // Loading ~100 plugins takes minutes on the first start.
      startupProbe: { httpGet: { path: '/login', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
      readinessProbe: { httpGet: { path: '/login', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      livenessProbe: { tcpPort: 'http', periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 5 },
      resources: resources('500m', '2Gi', '2', '4Gi'),
      volumes: [
        WorkloadVolume.dataClaim('jenkins-home', JENKINS_HOME, { storage: `${JENKINS_HOME_GIB}Gi`, storageClassName: STORAGE_CLASS, labelled: false }),
        // Exactly the installed set at every start: no plugin survives from an earlier one.
        WorkloadVolume.emptyDir('plugins', `${JENKINS_HOME}/plugins`, '2Gi'),
        WorkloadVolume.configMap('config', CONFIG_MAP, [{ mountPath: CASC_DIR }]),
        WorkloadVolume.emptyDir('tmp', '/tmp', '2Gi'),
      ],
      initContainers: [
        {
          name: 'install-plugins',
          // The plugins of config/versions.ts; their dependencies at the minimum versions they
          // require (--latest false), so a start next month installs the same set.
          command: ['jenkins-plugin-cli'],
          args: [
            '--war', '/usr/share/jenkins/jenkins.war',
            '--plugin-file', `${CASC_DIR}/plugins.txt`,
            '--plugin-download-directory', '/var/jenkins_plugins',
            '--latest', 'false',
            '--verbose',
          ],
          resources: resources('250m', '512Mi', '1', '1Gi'),
          mounts: [
            { volume: 'jenkins-home', mountPath: JENKINS_HOME },
            { volume: 'plugins', mountPath: '/var/jenkins_plugins' },
            { volume: 'config', mountPath: CASC_DIR },
            { volume: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      vaultAgent: {
        labels: agent.labels,
        annotations: {
          ...agent.annotations,
          // JCasC resolves ${name} from the file /run/secrets/name (its file secret source):
          // the agent writes Jenkins' secrets there.
          'vault.hashicorp.com/secret-volume-path': JCASC_SECRETS_DIR,
        },
        volumes: agent.volumes,
      },
      // JCasC and the plugin list are read at start: a change restarts the controller.
      podAnnotations: { [CONFIG_HASH_ANNOTATION]: configHash },
    });

    new TlsIngress(this, 'ingress', {
      name: 'jenkins',
      namespace: JENKINS_NAMESPACE,
      host: props.host,
      serviceName: 'jenkins',
      servicePort: port,
      issuer: props.issuer,
    });
  }
}

