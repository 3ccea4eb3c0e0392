/**
 * The user's applications (the model's `apps`), each in every environment:
 *
 *  - `<app>` in `dist/k8s/<env>/<app>/` (Application `<app>-<env>` in its own AppProject `<app>-<env>`,
 *    which may deploy only into that namespace and no cluster-scoped kind): its ServiceAccount,
 *    Deployment (image from Harbor at the environment's tag), Service, TLS Ingress with the
 *    environment's issuer, a PodDisruptionBudget when it runs two or more replicas, and its Vault
 *    consumer (`<app>-<env>`: role and policy come from the Vault service);
 *  - `<app>-<env>-namespace` in `dist/k8s/platform/`: the app's namespace in that environment
 *    (Pod Security restricted, default deny, the NetworkPolicies of its declared connections) and
 *    the read access the pipeline's deploy pods need to wait for a rollout. Namespaces and network
 *    isolation belong to the platform: a tenant Application cannot widen them.
 *
 * @see docs/decisions/0044-apps-across-environments.md
 */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { appNamespace, PLATFORM_ENV, type App, type Platform } from '../../config';
import { APP_CONTAINER, APP_SERVICE_PORT, BUILDS_NAMESPACE, DEPLOY_AGENT, appImageRepository } from '../lib/delivery';
import { TlsIngress } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { NAME_LABEL, connect, dnsAccess, exposedThroughIngress, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import type { ServiceDefinition, ServiceRegistration } from '../lib/service';
import type { SecretConsumer } from '../lib/vault';
import { WorkloadDeployment, WorkloadVolume, type VaultAgentPodProps, type WorkloadResources } from '../lib/workload';

/** Apps run as this non-root user and group (kube-score asks for 10000 or more). */
export const APP_UID = 10001;
/** The Role in each app namespace that lets the pipeline's deploy pods read the app's Deployment. */
export const ROLLOUT_READER = 'rollout-reader';

function appOf(platform: Platform, app: string): App {
  const spec = platform.apps[app];
  if (!spec) throw new Error(`apps.${app}: no such app; the model declares: ${Object.keys(platform.apps).join(', ') || '(none)'}`);
  return spec;
}

/** The pods of an app in one environment. */
export function appWorkload(platform: Platform, app: string, env: string): Workload {
  return { namespace: appNamespace(app, env), name: app, ports: { http: appOf(platform, app).port } };
}

/**
 * The image an environment runs: Harbor repository at the environment's tag and, once the
 * pipeline recorded it, the digest it pushed and the scan approved (`repo:tag@sha256:...`: the
 * runtime pulls by digest, the tag stays for people). docs/decisions/0107-deploy-by-digest.md.
 */
export function appImage(platform: Platform, app: string, env: string): string {
  // The schema requires every app in every environment of the model (config/schema.ts).
  const deployment = appOf(platform, app).environments[env];
  return `${appImageRepository(platform, app)}:${deployment.tag}${deployment.digest ? `@${deployment.digest}` : ''}`;
}

/** The app's Vault consumer in an environment (`secret/data/<app>-<env>/<secret>`), if it reads secrets. */
export function appSecretConsumer(platform: Platform, app: string, env: string): SecretConsumer | undefined {
  const spec = appOf(platform, app);
  if (spec.secrets.length === 0) return undefined;
  return {
    name: appNamespace(app, env),
    namespace: appNamespace(app, env),
    serviceAccount: app,
    workload: { namespace: appNamespace(app, env), name: app },
    secrets: spec.secrets.map((secret) => ({ name: secret.name, keys: [...secret.keys] })),
  };
}

/** The app in one environment: the objects of the tenant's Application. */
export interface AppProps {
  /** The app's name (`apps.<app>`): of its objects, its pods' label and its Service. */
  readonly app: string;
  /** The environment (`environments.<env>`): the namespace is `<app>-<env>`, and the pods see it as APP_ENV. */
  readonly env: string;
  /** The image the environment runs (`appImage`: Harbor repository, tag, and digest once known). */
  readonly image: string;
  /** The port the container listens on (`apps.<app>.port`). */
  readonly port: number;
  /** The paths of its readiness and liveness checks (`apps.<app>.health`). */
  readonly health: { readonly readinessPath: string; readonly livenessPath: string };
  /** Pods of the Deployment; two or more spread over nodes and get a PodDisruptionBudget. */
  readonly replicas: number;
  /** Requests and limits of the container (`apps.<app>.environments.<env>.resources`). */
  readonly resources: WorkloadResources;
  /** The environment's public or mesh host of the app. */
  readonly host: string;
  /** The ClusterIssuer of the Ingress's certificate (`issuerFor` the environment and the host's exposure). */
  readonly issuer: string;
  /**
   * The Vault agent's pieces when the app reads secrets (`appSecretConsumer`).
   * @default - no Vault agent
   */
  readonly vaultAgent?: VaultAgentPodProps;
}

export class TenantApp extends Construct {
  /** The registration of the app in one environment (one Application per app and environment). */
  static registrationFor(app: string, env: string): ServiceRegistration {
    return {
      name: app,
      namespace: appNamespace(app, env),
      syncWave: 0,
      connections: (platform: Platform): Connection[] => {
        const workload = appWorkload(platform, app, env);
        return [
          exposedThroughIngress(workload, 'http'),
          connect({ workload: DEPLOY_AGENT }, workload, ['http'], `smoke tests of ${app} in ${env} (pipeline)`),
          dnsAccess(workload),
          // Its connection to Vault comes with its secret consumer (charts/synth.ts).
        ];
      },
      secretConsumers: (platform: Platform) => {
        const consumer = appSecretConsumer(platform, app, env);
        return consumer ? [consumer] : [];
      },
    };
  }

  constructor(scope: Construct, id: string, props: AppProps) {
    super(scope, id);
    const { app, env } = props;
    const namespace = appNamespace(app, env);
    const selector = { [NAME_LABEL]: app };
    const http = k8s.IntOrString.fromString('http');
    const spread = props.replicas > 1;

    new WorkloadDeployment(this, 'deployment', {
      workload: { namespace, name: app, ports: { http: props.port } },
      component: 'app',
      containerName: APP_CONTAINER,
      image: props.image,
      imagePullPolicy: 'Always',
      identity: { uid: APP_UID, fsGroup: APP_UID, fsGroupChangeOnRootMismatch: false },
      resources: props.resources,
      env: [
        { name: 'APP_ENV', value: env },
        { name: 'PORT', value: String(props.port) },
      ],
      readinessProbe: { httpGet: { path: props.health.readinessPath, port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: props.health.livenessPath, port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
      volumes: [WorkloadVolume.emptyDir('tmp', '/tmp', '256Mi')],
      vaultAgent: props.vaultAgent,
      // Its Service listens on port 80 rather than the container's port: rendered below.
      service: false,
      replicas: props.replicas,
      // Replicas on different nodes when there are nodes to spare.
      spreadOverNodes: spread,
      // A new pod before an old one goes; a stuck rollout fails the pipeline's wait
      // (ProgressDeadlineExceeded) after 10 minutes.
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: 600,
    });

    if (spread) {
      new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
        metadata: { name: app, namespace, labels: standardLabels(app, 'disruption-budget') },
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: selector } },
      });
    }

    new k8s.KubeService(this, 'service', {
      metadata: { name: app, namespace, labels: standardLabels(app, 'service') },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: APP_SERVICE_PORT, targetPort: http }] },
    });

    new TlsIngress(this, 'ingress', {
      name: app,
      namespace,
      host: props.host,
      serviceName: app,
      servicePort: APP_SERVICE_PORT,
      issuer: props.issuer,
    });
  }
}

/** Namespaces Kubernetes itself owns; an app namespace must not take one. */
const KUBERNETES_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** The platform service that owns an app's namespace in one environment (folder and Application name). */
export function appNamespaceServiceName(app: string, env: string): string {
  return `${appNamespace(app, env)}-namespace`;
}

/**
 * Fails on an app whose names collide with the platform's: its namespace with a platform
 * namespace, its Application (`<app>-<env>`) with a platform Application or a root.
 */
export function checkAppNames(platform: Platform, platformServices: readonly ServiceDefinition[]): void {
  const envs = Object.keys(platform.environments);
  const apps = Object.keys(platform.apps);
  // The first owner of a name is the one named (a namespace before an Application of that name).
  const taken = new Map<string, string>();
  const claim = (name: string, owner: string) => {
    if (!taken.has(name)) taken.set(name, owner);
  };
  for (const ns of KUBERNETES_NAMESPACES) claim(ns, 'a namespace of Kubernetes itself');
  for (const s of platformServices) claim(s.namespace, `the namespace of platform service ${s.name}`);
  for (const s of platformServices) claim(s.name, `the Application of platform service ${s.name}`);
  for (const app of apps) for (const env of envs) claim(appNamespaceServiceName(app, env), `the Application of app ${app}'s namespace in ${env}`);
  for (const env of [PLATFORM_ENV, ...envs]) claim(`${env}-root`, `the root Application of ${env}`);
  for (const app of apps) {
    for (const env of envs) {
      const name = appNamespace(app, env);
      const owner = taken.get(name);
      if (owner) throw new Error(`apps.${app}: its namespace and Application in ${env}, "${name}", is also ${owner}; rename the app`);
    }
  }
}

/**
 * The platform's part of an app in one environment: its namespace (Pod Security restricted,
 * default deny, the NetworkPolicies of its connections) and the pipeline's read access to the
 * app's Deployment. One service per namespace: a folder holds one namespace's objects.
 */
export interface AppNamespaceProps {
  /** The app's name (`apps.<app>`). */
  readonly app: string;
  /** The environment (`environments.<env>`): the namespace is `<app>-<env>`. */
  readonly env: string;
  /** The port the app's container listens on (`apps.<app>.port`), for its NetworkPolicies. */
  readonly port: number;
  /** Every connection of the render, for the namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

export class AppNamespace extends Construct {
  /** The platform service that owns the app's namespace in one environment. */
  static registrationFor(app: string, env: string): ServiceRegistration {
    return {
      name: appNamespaceServiceName(app, env),
      namespace: appNamespace(app, env),
      // Before the environments' Applications need it (those retry until the namespace exists).
      syncWave: 3,
    };
  }

  constructor(scope: Construct, id: string, props: AppNamespaceProps) {
    super(scope, id);
    const { app, env } = props;
    const namespace = appNamespace(app, env);
    new PlatformNamespace(this, 'namespace', { name: namespace, workloads: [{ namespace, name: app, ports: { http: props.port } }], plan: props.plan });
    new k8s.KubeRole(this, 'rollout-reader', {
      metadata: { name: ROLLOUT_READER, namespace, labels: standardLabels(ROLLOUT_READER, 'rbac') },
      // Only this app's Deployment, only read: the pipeline waits until it runs the new image.
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: [app], verbs: ['get'] }],
    });
    new k8s.KubeRoleBinding(this, 'rollout-reader-binding', {
      metadata: { name: ROLLOUT_READER, namespace, labels: standardLabels(ROLLOUT_READER, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROLLOUT_READER },
      subjects: [{ kind: 'ServiceAccount', name: DEPLOY_AGENT.name, namespace: BUILDS_NAMESPACE }],
    });
  }
}
