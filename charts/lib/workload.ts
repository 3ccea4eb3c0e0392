/**
 * The workload construct family: every pod the platform renders itself is built here, from its
 * intent (image, ports by name, probes, resources, volumes, identity, node, Vault secrets), into
 * typed Kubernetes objects (cdk8s-plus-28's generated L1 classes): its ServiceAccount, its
 * Service, its ConfigMaps and the Deployment, StatefulSet, DaemonSet, Job or CronJob, with restricted
 * security (charts/lib/security-context.ts) and a checksum of its configuration that rolls the pods
 * when it changes. A Job and the CronJob that repeats it can share one `WorkloadPod`.
 * docs/decisions/0091-typed-workload-constructs.md says why these are typed L1 objects
 * and not cdk8s-plus-28's L2 constructs; 0092 why services are construct classes with a catalogue.
 *
 * ## How to write a service
 * 1. One chart file, `charts/<layer>/<service>.ts`:
 *    - `export interface FooProps` naming exactly the slice of the model the service reads
 *      (`readonly`, TSDoc on every prop, `@default` on every optional one; never `Platform`);
 *    - `export class Foo extends Construct` whose constructor renders the service from its props,
 *      usually with one `WorkloadDeployment` / `WorkloadStatefulSet` / `WorkloadDaemonSet` / `WorkloadJob`;
 *    - `static readonly registration: ServiceRegistration` (charts/lib/service.ts): its folder
 *      name, namespace, sync wave, and the connections and Vault consumers the render plans with.
 * 2. One test file, `test/charts/<layer>/<service>.test.ts`: `Testing.synth` of a
 *    `Testing.chart()` holding `new Foo(chart, 'foo', { small props })`, GIVEN/WHEN/THEN names.
 * 3. One catalogue line in charts/catalogue.ts: `constructService(Foo, (platform, plan) => ({ ...props from the model }))`.
 *    The versions file counts too when the service pins a new image (config/versions.ts).
 *
 * ## Migrating a `ServiceDefinition` service
 * Move the values `build()` read from `platform` into `FooProps`; move `name`, `namespace`,
 * `syncWave`, `connections` and `secretConsumers` into `Foo.registration`; replace each
 * `new ApiObject({ kind: 'Deployment' ... })` with a workload construct (or the typed L1 class,
 * e.g. `k8s.KubeClusterRole`); replace the catalogue's entry with `constructService(Foo, ...)`; run
 * `npm run synth` and `npm run check`: `dist/` must not change.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { standardLabels } from './labels';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { NAME_LABEL, type Workload } from './network';
import { NODE_LABEL } from '../../config/topology';
import { RESTRICTED_POD_ANY_USER, restrictedContainerSecurity, restrictedPodSecurity, type ContainerIdentity, type PodIdentity } from './security-context';

/** The annotation that rolls a pod template when its configuration changes. */
export const CONFIG_CHECKSUM_ANNOTATION = 'platform-synthesizer.io/config-checksum';

/**
 * SHA-256 (hex) of the files a pod reads, in a stable order: none of the programs we render
 * reloads its configuration by itself when a mounted ConfigMap changes, so the pods roll instead.
 */
export function configChecksum(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(files).sort()) hash.update(key).update('\0').update(files[key]).update('\0');
  return hash.digest('hex');
}

/** Requests and limits as Kubernetes quantities (POLICY-RULES K8S-RES-01). */
export interface WorkloadResources {
  /** What the scheduler reserves, e.g. `{ cpu: '100m', memory: '256Mi' }`. */
  readonly requests: { readonly cpu: string; readonly memory: string };
  /** The most the container may use, e.g. `{ cpu: '1', memory: '1Gi' }`. */
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** A probe of the container, against one of the workload's ports by name. */
export interface WorkloadProbe {
  /**
   * An HTTP GET of `path` on the named port.
   * @default - no HTTP check (set `tcpPort` instead)
   */
  readonly httpGet?: { readonly path: string; readonly port: string };
  /**
   * A TCP connect to the named port.
   * @default - no TCP check (set `httpGet` instead)
   */
  readonly tcpPort?: string;
  /**
   * A command run in the container (exit 0 passes), for a check no port answers, e.g.
   * `pg_isready` on a local socket.
   * @default - no command check (set `httpGet` or `tcpPort` instead)
   */
  readonly exec?: readonly string[];
  /** Seconds a check may take before it counts as failed. @default - Kubernetes' default (1) */
  readonly timeoutSeconds?: number;
  /** Seconds before the first check. @default - Kubernetes' default (0) */
  readonly initialDelaySeconds?: number;
  /** Seconds between checks. @default - Kubernetes' default (10) */
  readonly periodSeconds?: number;
  /** Failed checks in a row that count as failure. @default - Kubernetes' default (3) */
  readonly failureThreshold?: number;
}

/** Where a volume appears in the container. */
export interface VolumeMountProps {
  /** Where the container sees the volume (or the one file of `subPath`). */
  readonly mountPath: string;
  /**
   * Mount one key of the volume (a file) rather than the whole volume (a directory).
   * @default - the whole volume
   */
  readonly subPath?: string;
}

/** How a host path is mounted (`WorkloadVolume.hostPath`). */
export interface HostPathOptions {
  /**
   * What must exist at the path (`Directory`, `File`, ...): the pod waits rather than creating it.
   * @default - no check
   */
  readonly type?: string;
  /**
   * Where the container sees it.
   * @default - the same path as on the host
   */
  readonly mountPath?: string;
  /**
   * `HostToContainer` to see mounts the host makes later (e.g. node-exporter's view of `/`).
   * @default - Kubernetes' default (`None`)
   */
  readonly mountPropagation?: string;
}

/** A StatefulSet's own PersistentVolumeClaim (`WorkloadVolume.dataClaim`). */
export interface DataClaimProps {
  /** Its size, e.g. "20Gi". */
  readonly storage: string;
  /** Its StorageClass. */
  readonly storageClassName: string;
  /**
   * Label the claim template (`app.kubernetes.io/*`, component `storage`). `false` only for a
   * StatefulSet that went live with an unlabelled template: Kubernetes rejects any change to a
   * live StatefulSet's volumeClaimTemplates, so its template must stay exactly as it was.
   * @default true
   */
  readonly labelled?: boolean;
}

/** The token of `WorkloadVolume.serviceAccountToken`. */
export interface ServiceAccountTokenProps {
  /** Who accepts the token (its `aud` claim), e.g. "vault"; the API server does not. */
  readonly audience: string;
  /** Its lifetime in seconds: at least 600 (the API refuses less); the kubelet renews it at 80%. */
  readonly expirationSeconds: number;
}

/** Where an init container mounts one of the workload's volumes (`WorkloadInitContainer.mounts`). */
export interface InitContainerMount {
  /** The name of a volume of the workload (`WorkloadProps.volumes`). */
  readonly volume: string;
  /** Where the init container sees it (it may differ from the main container's path). */
  readonly mountPath: string;
}



/**
 * One volume of the workload and where the container mounts it. The order of a workload's
 * volumes is the order of its mounts and of the pod's volumes.
 */
export class WorkloadVolume {
  /**
   * Configuration files, rendered into a ConfigMap named `<workload>-<name>`, mounted read-only,
   * and part of the pod's config checksum.
   */
  static configFiles(name: string, files: Readonly<Record<string, string>>, mounts: readonly VolumeMountProps[]): WorkloadVolume {
    return new WorkloadVolume(name, mounts, true, { files });
  }

  /** Scratch space that lives as long as the pod, capped at `sizeLimit` (e.g. "256Mi"). */
  static emptyDir(name: string, mountPath: string, sizeLimit: string): WorkloadVolume {
    return new WorkloadVolume(name, [{ mountPath }], false, { volume: { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit) } } });
  }

  /**
   * Scratch space in memory (tmpfs), capped at `sizeLimit` and counted against the container's
   * memory: for a small directory that must not reach a disk, e.g. a server's Unix socket.
   */
  static memoryDir(name: string, mountPath: string, sizeLimit: string): WorkloadVolume {
    return new WorkloadVolume(name, [{ mountPath }], false, { volume: { name, emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(sizeLimit) } } });
  }

  /**
   * A StatefulSet's own PersistentVolumeClaim (a volumeClaimTemplate), ReadWriteOnce, kept when
   * the StatefulSet is deleted or scaled down. Only `WorkloadStatefulSet` accepts it.
   */
  static dataClaim(name: string, mountPath: string, claim: DataClaimProps): WorkloadVolume {
    return new WorkloadVolume(name, [{ mountPath }], false, { claim });
  }

  /**
   * A ConfigMap the service renders itself (under a name its objects already have), mounted
   * read-only. Not part of the pod's config checksum: roll the pods with `podAnnotations`.
   */
  static configMap(name: string, configMapName: string, mounts: readonly VolumeMountProps[]): WorkloadVolume {
    return new WorkloadVolume(name, mounts, true, { volume: { name, configMap: { name: configMapName } } });
  }

  /**
   * A service account token for another audience than the API server (e.g. Vault's), projected
   * into the file `token` of `mountPath`, read-only, renewed by the kubelet before it expires: for
   * a container that logs in with it itself (a pod with a Vault agent gets the agent's instead).
   * @see https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken
   */
  static serviceAccountToken(name: string, mountPath: string, token: ServiceAccountTokenProps): WorkloadVolume {
    return new WorkloadVolume(name, [{ mountPath }], true, {
      volume: { name, projected: { sources: [{ serviceAccountToken: { audience: token.audience, expirationSeconds: token.expirationSeconds, path: 'token' } }] } },
    });
  }

  /**
   * A directory or file of the node, mounted read-only (only in a namespace whose Pod Security
   * admits hostPath, with the policy exception on the workload).
   */
  static hostPath(name: string, path: string, options: HostPathOptions = {}): WorkloadVolume {
    const mount: k8s.VolumeMount = { name, mountPath: options.mountPath ?? path, readOnly: true, mountPropagation: options.mountPropagation };
    return new WorkloadVolume(name, [], true, { volume: { name, hostPath: { path, type: options.type } }, mountsAsIs: [mount] });
  }

  private constructor(
    readonly name: string,
    private readonly mountProps: readonly VolumeMountProps[],
    private readonly readOnly: boolean,
    private readonly source: {
      readonly files?: Readonly<Record<string, string>>;
      readonly volume?: k8s.Volume;
      readonly claim?: DataClaimProps;
      readonly mountsAsIs?: readonly k8s.VolumeMount[];
    },
  ) {}

  /** The configuration files, for a ConfigMap volume. @internal */
  get files(): Readonly<Record<string, string>> | undefined {
    return this.source.files;
  }

  /** The claim, for a data claim. @internal */
  get claim(): DataClaimProps | undefined {
    return this.source.claim;
  }

  /** @internal */
  mounts(): k8s.VolumeMount[] {
    if (this.source.mountsAsIs) return [...this.source.mountsAsIs];
    return this.mountProps.map((m) => ({ name: this.name, mountPath: m.mountPath, subPath: m.subPath, readOnly: this.readOnly || undefined }));
  }

  /** The volume mounted whole at `mountPath` (an init container's mount). @internal */
  mountAt(mountPath: string): k8s.VolumeMount {
    return { name: this.name, mountPath, readOnly: this.readOnly || undefined };
  }

  /** The pod's volume (none for a claim: the StatefulSet adds it). @internal */
  volume(workload: string): k8s.Volume | undefined {
    if (this.source.files) return { name: this.name, configMap: { name: `${workload}-${this.name}` } };
    return this.source.volume;
  }
}

/** What the Vault agent injector needs on the pod (charts/lib/vault.ts `vaultAgentPod`). */
export interface VaultAgentPodProps {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly volumes: readonly k8s.Volume[];
}

/**
 * A container of the pod besides the main one: an init container (`WorkloadProps.initContainers`)
 * or one that runs beside it (`WorkloadProps.sidecars`, e.g. a metrics exporter). It runs as the
 * pod's identity with restricted security, and mounts only the volumes it names.
 */
export interface WorkloadContainer {
  /** The container's name, unique in the pod. */
  readonly name: string;
  /** Its image, pinned in config/versions.ts. @default - the workload's image */
  readonly image?: string;
  /** Its requests and limits. */
  readonly resources: WorkloadResources;
  /** Its entrypoint. @default - the image's entrypoint */
  readonly command?: readonly string[];
  /** Its arguments. @default - the image's arguments */
  readonly args?: readonly string[];
  /** Its environment variables. @default - none */
  readonly env?: readonly k8s.EnvVar[];
  /** The workload's ports it listens on, by name. @default - none */
  readonly ports?: readonly string[];
  /** When the pod receives traffic. @default - no readiness probe */
  readonly readinessProbe?: WorkloadProbe;
  /** When the container is restarted. @default - no liveness probe */
  readonly livenessProbe?: WorkloadProbe;
  /** Holds its other probes off until it started. @default - no startup probe */
  readonly startupProbe?: WorkloadProbe;
  /**
   * The volumes it mounts, in this order: a workload volume's name (mounted where the main
   * container mounts it), or `{ volume, mountPath }` to mount a workload volume or one of the Vault
   * agent's (`vaultAgent.volumes`, read-only) at a path of its own.
   * @default - none
   */
  readonly mounts?: readonly (string | InitContainerMount)[];
  /**
   * Run as its own user rather than the pod's (for an image built for another user).
   * @default - the pod's identity
   */
  readonly identity?: ContainerIdentity;
}

/**
 * The intent of one pod (`WorkloadPod`): what every kind of the family runs, and what a Job and
 * the CronJob that repeats it can share.
 */
export interface WorkloadPodProps {
  /**
   * The workload as the network plan knows it (charts/lib/network.ts): its name (of every object
   * rendered here), its namespace and its ports by name.
   */
  readonly workload: Workload;
  /** The `app.kubernetes.io/component` label of the workload and its pods, e.g. "logs". */
  readonly component: string;
  /** The container image, pinned in config/versions.ts. */
  readonly image: string;
  /** The non-root user and groups the pod runs as (Pod Security restricted). */
  readonly identity: PodIdentity;
  /** Requests and limits of the container. */
  readonly resources: WorkloadResources;
  /**
   * The workload's ports the container listens on, by name (numbers come from `workload.ports`).
   * @default - every port of `workload`
   */
  readonly ports?: readonly string[];
  /**
   * The container's name.
   * @default - the workload's name
   */
  readonly containerName?: string;
  /** The container's entrypoint. @default - the image's entrypoint */
  readonly command?: readonly string[];
  /** The container's arguments. @default - the image's arguments */
  readonly args?: readonly string[];
  /** Environment variables of the container. @default - none */
  readonly env?: readonly k8s.EnvVar[];
  /**
   * Environment variables of the container from whole ConfigMaps or Secrets, by name (e.g. an
   * upstream controller's settings ConfigMap).
   * @default - none
   */
  readonly envFrom?: readonly k8s.EnvFromSource[];
  /** When the pod receives traffic. @default - no readiness probe */
  readonly readinessProbe?: WorkloadProbe;
  /** When the container is restarted. @default - no liveness probe */
  readonly livenessProbe?: WorkloadProbe;
  /** Holds the other probes off until the program started. @default - no startup probe */
  readonly startupProbe?: WorkloadProbe;
  /** Volumes and their mounts, in order. @default - none */
  readonly volumes?: readonly WorkloadVolume[];
  /**
   * The node the pods run on (`services.<name>.node` of the model, checked there).
   * @default - any node
   */
  readonly node?: string;
  /**
   * Node labels the pods require, for a placement the model does not name by node (e.g. the
   * control plane's role label). Not with `node`.
   * @default - any node (or `node`)
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * Mount the ServiceAccount's API token: only for a workload that calls the Kubernetes API
   * (and holds a binding for what it calls).
   * @default false
   */
  readonly automountToken?: boolean;
  /**
   * Run as a ServiceAccount the service renders itself, e.g. one that other pods share (the Jobs
   * an upstream controller creates); the family then renders none.
   * @default - a ServiceAccount of its own, named after the workload
   */
  readonly serviceAccount?: k8s.KubeServiceAccount;
  /**
   * The label the workload object selects its pods by (value: the workload's name), for a
   * workload that went live with an upstream selector: Kubernetes refuses a changed selector on a
   * live Deployment. The pods carry it beside `app.kubernetes.io/name`, which the NetworkPolicies
   * keep selecting on.
   * @default 'app.kubernetes.io/name'
   */
  readonly selectorLabel?: string;
  /**
   * The Vault agent's pieces for a workload that reads secrets (charts/lib/vault.ts `vaultAgentPod`).
   * @default - no Vault agent
   */
  readonly vaultAgent?: VaultAgentPodProps;
  /**
   * Annotations of the pods, after the config checksum and the Vault agent's (e.g. a checksum of
   * a ConfigMap the service renders itself, `WorkloadVolume.configMap`).
   * @default - none
   */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /** Taints the pods tolerate (e.g. the control plane's, for a per-node agent). @default - none */
  readonly tolerations?: readonly k8s.Toleration[];
  /** Share the node's network namespace. @default false */
  readonly hostNetwork?: boolean;
  /** Share the node's process namespace. @default false */
  readonly hostPid?: boolean;
  /** Seconds a stopping pod gets before it is killed. @default - Kubernetes' default (30 s) */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Names the pod resolves to fixed addresses (its `/etc/hosts`), e.g. a public host reached
   * through the ingress controller inside the cluster.
   * @default - none
   */
  readonly hostAliases?: readonly k8s.HostAlias[];
  /**
   * Leave the primary group to the image: no `runAsGroup` (`identity.gid` is then unused). For
   * an image whose user owns its home and tools through a primary group other than its uid.
   * @default false - `runAsGroup` is `identity.gid`
   */
  readonly imagePrimaryGroup?: boolean;
  /**
   * Each container runs as its own user: the pod pins only non-root and seccomp
   * (`RESTRICTED_POD_ANY_USER`), the workload's container runs as `identity` and each init
   * container as its own `identity`. For a pod whose containers come from images built for
   * different users; `identity` may then set no `fsGroup` or `supplementalGroups` (pod-level).
   * @default false - the whole pod runs as `identity`
   */
  readonly identityPerContainer?: boolean;
  /**
   * When the kubelet pulls the image (`Always` for an image whose tag moves, e.g. an app's).
   * @default - Kubernetes' default (`IfNotPresent` for a tagged image)
   */
  readonly imagePullPolicy?: string;
  /**
   * Spread the pods over nodes when there are nodes to spare (`ScheduleAnyway`: never blocks
   * scheduling), for a workload of several replicas.
   * @default false
   */
  readonly spreadOverNodes?: boolean;
  /**
   * The workload's volumes the main container mounts, by name, in this order (the others are
   * for `initContainers` or `sidecars`).
   * @default - every volume, in the order of `volumes`
   */
  readonly mounts?: readonly string[];
  /**
   * Containers that run to completion, in order, before the main one starts.
   * @default - none
   */
  readonly initContainers?: readonly WorkloadContainer[];
  /**
   * Containers that run beside the main one, after it in the pod (e.g. a metrics exporter).
   * @default - none
   */
  readonly sidecars?: readonly WorkloadContainer[];
  /**
   * Label the ServiceAccount, the ConfigMaps, the Service and the claim templates like the
   * workload (its name and `component`) instead of by their own kind (`service-account`,
   * `config`, `service`, `storage`): for a StatefulSet created with those labels, whose claim
   * templates a running cluster cannot change (docs/decisions/0111).
   * @default false - each object is labelled by its kind
   */
  readonly labelObjectsLikeWorkload?: boolean;
  /**
   * Annotate the pod template with the checksum of its configuration files, so the pods roll
   * when they change.
   * @default true
   */
  readonly rollOnConfigChange?: boolean;
  /**
   * Put the Vault agent's volumes before the workload's in the pod (the order of pods created
   * that way; a different order rolls them).
   * @default false - after the workload's volumes
   */
  readonly vaultVolumesFirst?: boolean;
}

/** The intent of one workload: its pod, and the workload object's own Service and annotations. */
export interface WorkloadProps extends WorkloadPodProps {
  /**
   * Render a Service named after the workload, selecting its pods, with these ports by name.
   * `false` for a workload nothing reaches by name (its scraper discovers the pods).
   * @default - a Service with every port of `ports`
   */
  readonly service?: false | { readonly ports: readonly string[] };
  /**
   * Annotations of the workload object itself (e.g. policy exceptions).
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

function portOf(workload: Workload, name: string): number {
  const port = workload.ports?.[name];
  if (port === undefined) {
    const known = Object.keys(workload.ports ?? {});
    throw new Error(
      `workload ${workload.namespace}/${workload.name}: no port named "${name}"; its ports are: ${known.length ? known.join(', ') : '(none)'}; declare the port in the workload's ports or use one of those names`,
    );
  }
  return port;
}

function probe(workload: Workload, props: WorkloadProbe | undefined, which: string): k8s.Probe | undefined {
  if (!props) return undefined;
  const checks = [props.httpGet, props.tcpPort, props.exec].filter((check) => check !== undefined).length;
  if (checks !== 1) {
    throw new Error(`workload ${workload.namespace}/${workload.name}: ${which} must set exactly one of httpGet, tcpPort and exec; it sets ${checks}`);
  }
  const named = (port: string) => {
    portOf(workload, port);
    return k8s.IntOrString.fromString(port);
  };
  return {
    httpGet: props.httpGet ? { path: props.httpGet.path, port: named(props.httpGet.port) } : undefined,
    tcpSocket: props.tcpPort !== undefined ? { port: named(props.tcpPort) } : undefined,
    exec: props.exec ? { command: [...props.exec] } : undefined,
    timeoutSeconds: props.timeoutSeconds,
    initialDelaySeconds: props.initialDelaySeconds,
    periodSeconds: props.periodSeconds,
    failureThreshold: props.failureThreshold,
  };
}

function withoutRunAsGroup(security: k8s.PodSecurityContext): k8s.PodSecurityContext {
  const { runAsGroup: _imageDecides, ...rest } = security;
  return rest;
}

const quantities = (r: { readonly cpu: string; readonly memory: string }) => ({ cpu: k8s.Quantity.fromString(r.cpu), memory: k8s.Quantity.fromString(r.memory) });

/**
 * Requests and limits as the typed container field, for the pod templates the family does not
 * build (Jenkins' agent pods, which Jenkins creates from their manifests in its configuration).
 */
export function containerResources(resources: WorkloadResources): k8s.ResourceRequirements {
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}

/**
 * A pod with what it runs as and reads: its ServiceAccount, the ConfigMaps of its config volumes
 * and the pod template (restricted security, config checksum, Vault agent). Every workload of the
 * family runs one: built from its own props, or given (`SharedPodProps`) to a Job and the
 * CronJob that repeats it, which then run one pod template under one ServiceAccount.
 */
export class WorkloadPod extends Construct {
  /** The workload's name: of the ServiceAccount, the ConfigMaps' prefix and the pods' label. */
  readonly name: string;
  readonly namespace: string;
  /** The `app.kubernetes.io/component` label of the pods. */
  readonly component: string;
  /** The labels of the pods (without the Vault agent's). */
  readonly labels: Readonly<Record<string, string>>;
  /** The selector of its pods: the one label the NetworkPolicies select on. */
  readonly selector: k8s.LabelSelector;
  /** The checksum of its configuration files (`undefined` without any). */
  readonly configChecksum?: string;
  /** The pod template the workload kinds wrap. @internal */
  readonly template: k8s.PodTemplateSpec;
  /** Its volumes, in order (a StatefulSet turns the data claims into claim templates). @internal */
  readonly volumes: readonly WorkloadVolume[];
  /** The ports its containers listen on, by name (a Service may expose only these). @internal */
  readonly listeningPorts: readonly string[];
  /** The labels of an object of the given kind (`WorkloadPodProps.labelObjectsLikeWorkload`). @internal */
  readonly objectLabels: (name: string, kind: string) => Record<string, string>;

  constructor(scope: Construct, id: string, props: WorkloadPodProps) {
    super(scope, id);
    const { workload } = props;
    this.name = workload.name;
    this.namespace = workload.namespace;
    this.component = props.component;
    const selectorLabel = props.selectorLabel ?? NAME_LABEL;
    this.labels = { ...standardLabels(workload.name, props.component), ...(selectorLabel === NAME_LABEL ? {} : { [selectorLabel]: workload.name }) };
    this.selector = { matchLabels: { [selectorLabel]: workload.name } };
    if (props.node !== undefined && props.nodeSelector) {
      throw new Error(`workload ${workload.namespace}/${workload.name}: node and nodeSelector both place the pods; set one`);
    }
    const objectLabels = (name: string, kind: string) => (props.labelObjectsLikeWorkload ? { ...this.labels } : standardLabels(name, kind));
    this.objectLabels = objectLabels;
    const volumes = props.volumes ?? [];
    this.volumes = volumes;
    const names = new Set<string>();
    for (const volume of volumes) {
      if (names.has(volume.name)) throw new Error(`workload ${workload.namespace}/${workload.name}: volume "${volume.name}" is declared twice; give each volume its own name`);
      names.add(volume.name);
    }
    const ports = props.ports ?? Object.keys(workload.ports ?? {});
    const containerPortsOf = (names: readonly string[]) => names.map((name) => ({ name, containerPort: portOf(workload, name), protocol: 'TCP' }));
    const containerPorts = containerPortsOf(ports);
    this.listeningPorts = [...ports, ...(props.sidecars ?? []).flatMap((c) => c.ports ?? [])];
    const mountsOf = (names: readonly string[], container: string): k8s.VolumeMount[] =>
      names.flatMap((volumeName) => {
        const volume = volumes.find((v) => v.name === volumeName);
        if (!volume) {
          throw new Error(
            `workload ${workload.namespace}/${workload.name}: container "${container}" mounts volume "${volumeName}", which is not declared; its volumes are: ${volumes.map((v) => v.name).join(', ') || '(none)'}; add it to volumes or mount one of those`,
          );
        }
        return volume.mounts();
      });

    const serviceAccountName =
      props.serviceAccount?.name ??
      new k8s.KubeServiceAccount(this, 'service-account', {
        metadata: { name: this.name, namespace: this.namespace, labels: objectLabels(this.name, 'service-account') },
        automountServiceAccountToken: props.automountToken ?? false,
      }).name;

    const files: Record<string, string> = {};
    for (const volume of volumes) {
      if (!volume.files) continue;
      for (const [key, text] of Object.entries(volume.files)) {
        if (key in files) throw new Error(`workload ${workload.namespace}/${workload.name}: file "${key}" is in two config volumes; name each file once`);
        files[key] = text;
      }
      new k8s.KubeConfigMap(this, `config-${volume.name}`, {
        metadata: { name: `${this.name}-${volume.name}`, namespace: this.namespace, labels: objectLabels(`${this.name}-${volume.name}`, 'config') },
        data: { ...volume.files },
      });
    }
    this.configChecksum = Object.keys(files).length ? configChecksum(files) : undefined;

    const agent = props.vaultAgent;
    const rollOnConfigChange = props.rollOnConfigChange ?? true;
    const annotations = { ...(this.configChecksum && rollOnConfigChange ? { [CONFIG_CHECKSUM_ANNOTATION]: this.configChecksum } : {}), ...agent?.annotations, ...props.podAnnotations };
    const ownVolumes = volumes.flatMap((v) => v.volume(this.name) ?? []);
    const podVolumes = props.vaultVolumesFirst ? [...(agent?.volumes ?? []), ...ownVolumes] : [...ownVolumes, ...(agent?.volumes ?? [])];
    const containerName = props.containerName ?? this.name;
    const mounts = props.mounts ? mountsOf(props.mounts, containerName) : volumes.flatMap((v) => v.mounts());
    // A volume mounted at a path of the container's own: a workload volume, or the Vault agent's (read-only).
    const byName = new Map<string, { mountAt(path: string): k8s.VolumeMount }>(volumes.map((v) => [v.name, v]));
    for (const volume of agent?.volumes ?? []) byName.set(volume.name, { mountAt: (mountPath) => ({ name: volume.name, mountPath, readOnly: true }) });
    const mountAt = (m: InitContainerMount, container: string): k8s.VolumeMount => {
      const volume = byName.get(m.volume);
      if (!volume) {
        throw new Error(
          `workload ${workload.namespace}/${workload.name}: container "${container}" mounts volume "${m.volume}", which the workload does not declare; its volumes are: ${[...byName.keys()].join(', ') || '(none)'}; add the volume to volumes or mount one of those`,
        );
      }
      return volume.mountAt(m.mountPath);
    };
    const extra = (c: WorkloadContainer, which: string): k8s.Container => {
      const own = (c.mounts ?? []).flatMap((m) => (typeof m === 'string' ? mountsOf([m], c.name) : [mountAt(m, c.name)]));
      const cPorts = containerPortsOf(c.ports ?? []);
      return {
        name: c.name,
        image: c.image ?? props.image,
        command: c.command ? [...c.command] : undefined,
        args: c.args ? [...c.args] : undefined,
        env: c.env ? [...c.env] : undefined,
        ports: cPorts.length ? cPorts : undefined,
        readinessProbe: probe(workload, c.readinessProbe, `${which} ${c.name}: readinessProbe`),
        livenessProbe: probe(workload, c.livenessProbe, `${which} ${c.name}: livenessProbe`),
        startupProbe: probe(workload, c.startupProbe, `${which} ${c.name}: startupProbe`),
        resources: { requests: quantities(c.resources.requests), limits: quantities(c.resources.limits) },
        securityContext: restrictedContainerSecurity(c.identity),
        volumeMounts: own.length ? own : undefined,
      };
    };
    const initContainers = (props.initContainers ?? []).map((c) => extra(c, 'init container'));
    const sidecars = (props.sidecars ?? []).map((c) => extra(c, 'sidecar'));
    const containerNames = new Set<string>();
    for (const name of [containerName, ...initContainers.map((c) => c.name), ...sidecars.map((c) => c.name)]) {
      if (containerNames.has(name)) throw new Error(`workload ${workload.namespace}/${workload.name}: container name "${name}" is used twice; give each container of the pod its own name`);
      containerNames.add(name);
    }
    const container: k8s.Container = {
      name: containerName,
      image: props.image,
      imagePullPolicy: props.imagePullPolicy,
      command: props.command ? [...props.command] : undefined,
      args: props.args ? [...props.args] : undefined,
      env: props.env ? [...props.env] : undefined,
      envFrom: props.envFrom ? [...props.envFrom] : undefined,
      ports: containerPorts.length ? containerPorts : undefined,
      readinessProbe: probe(workload, props.readinessProbe, 'readinessProbe'),
      livenessProbe: probe(workload, props.livenessProbe, 'livenessProbe'),
      startupProbe: probe(workload, props.startupProbe, 'startupProbe'),
      resources: { requests: quantities(props.resources.requests), limits: quantities(props.resources.limits) },
      securityContext: restrictedContainerSecurity(props.identityPerContainer ? props.identity : undefined),
      volumeMounts: mounts.length ? mounts : undefined,
    };
    if (props.identityPerContainer && (props.identity.fsGroup !== undefined || props.identity.supplementalGroups)) {
      throw new Error(
        `workload ${workload.namespace}/${workload.name}: identity sets fsGroup or supplementalGroups, which are the pod's, but identityPerContainer gives each container its own user; drop them or drop identityPerContainer`,
      );
    }
    this.template = {
      metadata: {
        labels: { ...this.labels, ...agent?.labels },
        annotations: Object.keys(annotations).length ? annotations : undefined,
      },
      spec: {
        serviceAccountName,
        automountServiceAccountToken: props.automountToken ?? false,
        nodeSelector: props.node !== undefined ? { [NODE_LABEL]: props.node } : props.nodeSelector ? { ...props.nodeSelector } : undefined,
        hostNetwork: props.hostNetwork,
        hostPid: props.hostPid,
        securityContext: props.identityPerContainer
          ? { ...RESTRICTED_POD_ANY_USER }
          : props.imagePrimaryGroup
            ? withoutRunAsGroup(restrictedPodSecurity(props.identity))
            : restrictedPodSecurity(props.identity),
        terminationGracePeriodSeconds: props.terminationGracePeriodSeconds,
        tolerations: props.tolerations ? [...props.tolerations] : undefined,
        hostAliases: props.hostAliases ? props.hostAliases.map((alias) => ({ ...alias, hostnames: alias.hostnames && [...alias.hostnames] })) : undefined,
        topologySpreadConstraints: props.spreadOverNodes
          ? [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: this.selector }]
          : undefined,
        initContainers: initContainers.length ? initContainers : undefined,
        containers: [container, ...sidecars],
        volumes: podVolumes.length ? podVolumes : undefined,
      },
    };
  }

}

/**
 * A workload that runs a pod built once for two workloads (`WorkloadPod`): a Job and the CronJob
 * that repeats it run one pod template under one ServiceAccount, with one ConfigMap. Only a Job
 * and a CronJob take it: nothing connects to them, so neither renders a Service.
 */
export interface SharedPodProps {
  /** The pod it runs, built with `new WorkloadPod(...)`. */
  readonly pod: WorkloadPod;
  /**
   * The name of the workload object (and its `app.kubernetes.io/name` label); its pods keep the
   * pod's name and labels.
   * @default - the pod's name
   */
  readonly name?: string;
  /**
   * Annotations of the workload object itself (e.g. an Argo CD hook).
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * What every workload kind shares: its pod (built here from the props, or shared) and the Service
 * in front of it; the subclasses wrap the pod template in their kind.
 */
export abstract class WorkloadBase extends Construct {
  /** The name of the workload object (of every object rendered here unless the pod is shared). */
  readonly name: string;
  readonly namespace: string;
  /** The labels of the workload object (its pods' too, unless the pod is shared). */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod it runs: its own, or one it shares with another workload. */
  readonly pod: WorkloadPod;
  /** The selector of its pods: the one label the NetworkPolicies select on. */
  readonly selector: k8s.LabelSelector;
  /** The checksum of its configuration files (`undefined` without any). */
  readonly configChecksum?: string;
  protected readonly template: k8s.PodTemplateSpec;

  protected constructor(scope: Construct, id: string, protected readonly props: WorkloadProps | SharedPodProps) {
    super(scope, id);
    // The pod's objects stay this construct's children when it builds its own (id `pod`).
    const pod = 'pod' in props ? props.pod : new WorkloadPod(this, 'pod', props);
    this.pod = pod;
    this.name = ('pod' in props ? props.name : undefined) ?? pod.name;
    this.namespace = pod.namespace;
    this.labels = this.name === pod.name ? pod.labels : standardLabels(this.name, pod.component);
    this.selector = pod.selector;
    this.configChecksum = pod.configChecksum;
    this.template = pod.template;

    if (!('pod' in props) && props.service !== false) {
      const { workload } = props;
      const ports = props.ports ?? Object.keys(workload.ports ?? {});
      const servicePorts = props.service?.ports ?? ports;
      for (const name of servicePorts) {
        if (!pod.listeningPorts.includes(name)) throw new Error(`workload ${workload.namespace}/${workload.name}: the Service exposes port "${name}", which the container does not listen on; add it to ports (or to a sidecar's ports)`);
      }
      new k8s.KubeService(this, 'service', {
        metadata: { name: this.name, namespace: this.namespace, labels: pod.objectLabels(this.name, 'service') },
        spec: {
          ...(this.headlessService ? { clusterIp: 'None' } : { type: 'ClusterIP' }),
          selector: { ...this.selector.matchLabels },
          ports: servicePorts.map((name) => ({ name, port: portOf(workload, name), targetPort: k8s.IntOrString.fromString(name), protocol: 'TCP' })),
        },
      });
    }
  }

  /** A StatefulSet's governing Service is headless (clients reach its one pod directly). */
  protected get headlessService(): boolean {
    return false;
  }

  protected objectMetadata(): k8s.ObjectMeta {
    return { name: this.name, namespace: this.namespace, labels: { ...this.labels }, annotations: this.props.annotations ? { ...this.props.annotations } : undefined };
  }

  protected rejectClaims(kind: string): void {
    const claim = this.pod.volumes.find((v) => v.claim);
    if (claim) throw new Error(`workload ${this.namespace}/${this.pod.name}: volume "${claim.name}" is a data claim, which only a StatefulSet has; a ${kind} uses an emptyDir or a StatefulSet`);
  }
}

export interface WorkloadDeploymentProps extends WorkloadProps {
  /** Pods of the Deployment. @default 1 */
  readonly replicas?: number;
  /**
   * Pods a rolling update may add above, and take away below, `replicas`.
   * @default - Kubernetes' default (25% each)
   */
  readonly rollingUpdate?: { readonly maxSurge: number; readonly maxUnavailable: number };
  /**
   * `Recreate`: the old pod stops before the new one starts, for a controller of which two must
   * never run at once. Not with `rollingUpdate`.
   * @default - Kubernetes' default (`RollingUpdate`)
   */
  readonly strategy?: 'Recreate' | 'RollingUpdate';
  /** Old ReplicaSets kept for a rollback. @default - Kubernetes' default (10) */
  readonly revisionHistoryLimit?: number;
  /** Seconds before a rollout that makes no progress counts as failed. @default - Kubernetes' default (600) */
  readonly progressDeadlineSeconds?: number;
}

/** A stateless workload: a Deployment (and its ServiceAccount, ConfigMaps and Service). */
export class WorkloadDeployment extends WorkloadBase {
  readonly resource: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: WorkloadDeploymentProps) {
    super(scope, id, props);
    this.rejectClaims('Deployment');
    if (props.strategy === 'Recreate' && props.rollingUpdate) {
      throw new Error(`workload ${this.namespace}/${this.name}: strategy Recreate stops every pod before starting new ones; rollingUpdate limits a rolling update; drop one`);
    }
    this.resource = new k8s.KubeDeployment(this, 'Resource', {
      metadata: this.objectMetadata(),
      spec: {
        replicas: props.replicas ?? 1,
        revisionHistoryLimit: props.revisionHistoryLimit,
        progressDeadlineSeconds: props.progressDeadlineSeconds,
        strategy:
          props.strategy === 'Recreate'
            ? { type: 'Recreate' }
            : props.rollingUpdate
              ? {
                  type: 'RollingUpdate',
                  rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(props.rollingUpdate.maxSurge), maxUnavailable: k8s.IntOrString.fromNumber(props.rollingUpdate.maxUnavailable) },
                }
              : props.strategy
                ? { type: props.strategy }
                : undefined,
        selector: this.selector,
        template: this.template,
      },
    });
  }
}

export interface WorkloadStatefulSetProps extends WorkloadProps {
  /**
   * How the StatefulSet starts and stops its pods (written out for a StatefulSet created with
   * it: the field cannot change on a running object).
   * @default - not set: Kubernetes' default (`OrderedReady`)
   */
  readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /**
   * How a changed pod template reaches the pods.
   * @default - not set: Kubernetes' default (`RollingUpdate`)
   */
  readonly updateStrategy?: 'RollingUpdate' | 'OnDelete';
  /**
   * The governing Service (`spec.serviceName`), which Kubernetes never lets change on a live
   * StatefulSet: for a StatefulSet that went live governed by a Service of another name, rendered
   * by the service itself (usually with `service: false`).
   * @default - the workload's name (the headless Service rendered here)
   */
  readonly serviceName?: string;
}

/**
 * A workload with its own volume: a StatefulSet of one replica whose data claims are kept when
 * it is deleted or scaled (the volume holds the state), behind a headless Service.
 */
export class WorkloadStatefulSet extends WorkloadBase {
  readonly resource: k8s.KubeStatefulSet;

  constructor(scope: Construct, id: string, props: WorkloadStatefulSetProps) {
    super(scope, id, props);
    const claims = this.pod.volumes.filter((v) => v.claim);
    this.resource = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: this.objectMetadata(),
      spec: {
        replicas: 1,
        serviceName: props.serviceName ?? this.name,
        selector: this.selector,
        podManagementPolicy: props.podManagementPolicy,
        updateStrategy: props.updateStrategy ? { type: props.updateStrategy } : undefined,
        template: this.template,
        volumeClaimTemplates: claims.length
          ? claims.map((v) => ({
              metadata: { name: v.name, labels: v.claim!.labelled === false ? undefined : this.pod.objectLabels(this.name, 'storage') },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: v.claim!.storageClassName,
                resources: { requests: { storage: k8s.Quantity.fromString(v.claim!.storage) } },
              },
            }))
          : undefined,
        persistentVolumeClaimRetentionPolicy: claims.length ? { whenDeleted: 'Retain', whenScaled: 'Retain' } : undefined,
      },
    });
  }

  protected override get headlessService(): boolean {
    return true;
  }
}

export type WorkloadDaemonSetProps = WorkloadProps;

/** A workload on every node (metrics, logs): a DaemonSet that replaces one node's pod at a time. */
export class WorkloadDaemonSet extends WorkloadBase {
  readonly resource: k8s.KubeDaemonSet;

  constructor(scope: Construct, id: string, props: WorkloadDaemonSetProps) {
    super(scope, id, props);
    this.rejectClaims('DaemonSet');
    this.resource = new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: this.objectMetadata(),
      spec: {
        selector: this.selector,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: this.template,
      },
    });
  }
}

/** How a Job runs to completion (`WorkloadJob`). */
export interface JobRunProps {
  /** Failed pods before the Job counts as failed. @default - Kubernetes' default (6) */
  readonly backoffLimit?: number;
  /** Seconds the Job may run in all before it is stopped. @default - no deadline */
  readonly activeDeadlineSeconds?: number;
  /** Seconds a finished Job (and its pods, with their logs) is kept. @default - kept until deleted */
  readonly ttlSecondsAfterFinished?: number;
}

/** A Job with a pod of its own. */
export interface WorkloadJobProps extends WorkloadProps, JobRunProps {}

/** A Job that runs a pod it shares with a CronJob (`SharedPodProps`). */
export interface SharedPodJobProps extends SharedPodProps, JobRunProps {}

/** When a CronJob's runs start, and how its Jobs are kept and retried (`WorkloadCronJob`). */
export interface CronJobScheduleProps {
  /** The cron schedule of the runs, e.g. "30 * * * *". */
  readonly schedule: string;
  /** The time zone of `schedule`. @default - the controller manager's (set it: nodes differ) */
  readonly timeZone?: string;
  /** Stop starting runs (a running one finishes). @default false */
  readonly suspend?: boolean;
  /**
   * What happens when a run is due while the last still runs.
   * @default 'Forbid' - the new run is skipped: two runs of one job rarely may overlap
   */
  readonly concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  /** Seconds after its time a missed start may still happen. @default - no deadline */
  readonly startingDeadlineSeconds?: number;
  /** Finished successful Jobs kept. @default - Kubernetes' default (3) */
  readonly successfulJobsHistoryLimit?: number;
  /** Finished failed Jobs kept. @default - Kubernetes' default (1) */
  readonly failedJobsHistoryLimit?: number;
  /** Retries of a failed pod within one run. @default - Kubernetes' default (6) */
  readonly backoffLimit?: number;
  /** Seconds a run may take before it is killed and counts as failed. @default - no limit */
  readonly activeDeadlineSeconds?: number;
  /** Seconds a finished Job (and its pod's logs) is kept. @default - until the history limits remove it */
  readonly ttlSecondsAfterFinished?: number;
}

/** A CronJob with a pod of its own. */
export interface WorkloadCronJobProps extends WorkloadProps, CronJobScheduleProps {}

/** A CronJob that runs a pod it shares with a Job (`SharedPodProps`), e.g. the Job's hourly repeat. */
export interface SharedPodCronJobProps extends SharedPodProps, CronJobScheduleProps {}

/** The pod template of a run to completion: never restarted in place. */
function runOnce(template: k8s.PodTemplateSpec): k8s.PodTemplateSpec {
  return { ...template, spec: { ...template.spec!, restartPolicy: 'Never' } };
}

/**
 * A run to completion: a Job whose pod is never restarted in place (a failed pod is replaced, up
 * to `backoffLimit`), with its ServiceAccount and ConfigMaps (or a `WorkloadPod` it shares with a
 * CronJob) and no Service (nothing connects to a Job). An Argo CD hook is an annotation of the
 * Job (`annotations`).
 */
export class WorkloadJob extends WorkloadBase {
  readonly resource: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: WorkloadJobProps | SharedPodJobProps) {
    super(scope, id, 'pod' in props ? props : { ...props, service: false });
    this.rejectClaims('Job');
    this.resource = new k8s.KubeJob(this, 'Resource', {
      metadata: this.objectMetadata(),
      spec: {
        backoffLimit: props.backoffLimit,
        activeDeadlineSeconds: props.activeDeadlineSeconds,
        ttlSecondsAfterFinished: props.ttlSecondsAfterFinished,
        template: runOnce(this.template),
      },
    });
  }
}

/**
 * A workload that runs on a schedule: a CronJob whose pods never restart in place (a failed run
 * stays failed, with its logs, until the next one). Nothing connects to it: give it
 * `service: false` (a shared `WorkloadPod` has no Service). Its Jobs carry the CronJob's labels.
 */
export class WorkloadCronJob extends WorkloadBase {
  readonly resource: k8s.KubeCronJob;

  constructor(scope: Construct, id: string, props: WorkloadCronJobProps | SharedPodCronJobProps) {
    super(scope, id, props);
    this.rejectClaims('CronJob');
    this.resource = new k8s.KubeCronJob(this, 'Resource', {
      metadata: this.objectMetadata(),
      spec: {
        schedule: props.schedule,
        timeZone: props.timeZone,
        suspend: props.suspend ?? false,
        concurrencyPolicy: props.concurrencyPolicy ?? 'Forbid',
        startingDeadlineSeconds: props.startingDeadlineSeconds,
        successfulJobsHistoryLimit: props.successfulJobsHistoryLimit,
        failedJobsHistoryLimit: props.failedJobsHistoryLimit,
        jobTemplate: {
          metadata: { labels: { ...this.labels } },
          spec: {
            backoffLimit: props.backoffLimit,
            activeDeadlineSeconds: props.activeDeadlineSeconds,
            ttlSecondsAfterFinished: props.ttlSecondsAfterFinished,
            template: runOnce(this.template),
          },
        },
      },
    });
  }
}
