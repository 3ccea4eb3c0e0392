/**
 * The bring-up walk: replays, on paper, how the rendered platform comes up on an empty cluster.
 *
 * What exists before Argo CD starts is what the README's runbook creates by hand (the steps of
 * "Runbook from zero" before the one that bootstraps Argo CD). Then the platform root syncs its
 * child Applications wave by wave: Argo CD applies a wave, and starts the next only once every
 * Application of it is Healthy (the Application health check restored in argocd-cm, see
 * charts/platform/argocd.ts). The environments' roots are applied once the platform root is
 * Healthy (README), so their waves come after all of the platform's.
 *
 * For each Application, in that order, every prerequisite must exist by its wave:
 *  - the CRD of each custom resource it renders: installed by an Application of an earlier wave
 *    (a chart declares the API groups it installs, `helm().customResourceGroups`);
 *  - each namespace its objects go to: its own Namespace object, one of an earlier wave, or one
 *    the runbook created;
 *  - for each workload that reads Vault (its `secretConsumers`): Vault's injector, whose webhook
 *    must exist before the pods are created (an earlier wave), and each entry it reads: loaded at
 *    the runbook's Vault step (the rendered `load-kv.sh` prompts for every declared entry) once
 *    Vault runs, or, for a value another service issues (`VaultSecret.issuedBy`), only once that
 *    service is Healthy;
 *  - each Secret its chart values name (`existingSecret`-style keys): created by the runbook
 *    before Argo CD, or at its Vault step (copied from a Vault entry, which must be loadable by
 *    then), or rendered (a cert-manager Certificate's `secretName`) in the same Application;
 *  - each server its workloads connect to (the connections the service declares as client, and
 *    the one to Vault): run by an Application of the same or an earlier wave, or by the cluster.
 * A late prerequisite, or a cycle among same-wave servers, is reported with the chain named.
 *
 * The facts come from the render (Applications and their waves, objects, chart values, the
 * vault-config ConfigMap's load-kv.sh), the model (services' connections and Vault consumers) and
 * the README (what the runbook creates and when); nothing here lists the answer.
 */
import { parseYamlCached } from './render';
import type { KubeObject } from '../../charts/lib/service';
import { PLATFORM_ENV, type Platform } from '../../config';
import { applicationName } from '../../charts/gitops/app-of-apps';
import { NAME_LABEL, type Connection, type Workload } from '../../charts/lib/network';
import type { ServiceDefinition } from '../../charts/lib/service';
import { VAULT_SERVER, secretPath, type SecretConsumer } from '../../charts/lib/vault';
import { renderedEnvironments, servicesOf } from '../../charts/catalogue';

/**
 * API groups the Kubernetes API server serves itself (k3s v1.34): no Application installs them.
 * @see https://kubernetes.io/docs/reference/using-api/#api-groups
 */
const BUILT_IN_GROUPS = new Set([
  '', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'apps', 'authentication.k8s.io',
  'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io',
  'events.k8s.io', 'flowcontrol.apiserver.k8s.io', 'networking.k8s.io', 'node.k8s.io', 'policy',
  'rbac.authorization.k8s.io', 'resource.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io',
]);

/** Kinds whose pod template runs a workload's pods. */
const POD_TEMPLATE_PATHS: Record<string, (o: KubeObject) => unknown> = {
  Deployment: (o) => (o.spec as any)?.template,
  StatefulSet: (o) => (o.spec as any)?.template,
  DaemonSet: (o) => (o.spec as any)?.template,
  Job: (o) => (o.spec as any)?.template,
  CronJob: (o) => (o.spec as any)?.jobTemplate?.spec?.template,
};

/** Where an Application stands in the bring-up: its root (0 platform, 1 environments), then its wave. */
type Position = readonly [root: number, wave: number];
const before = (a: Position, b: Position) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
const sameTime = (a: Position, b: Position) => a[0] === b[0] && a[1] === b[1];

export interface BringupApplication {
  readonly name: string;
  readonly env: string;
  readonly wave: number;
  readonly position: Position;
  readonly namespace: string;
  readonly service: ServiceDefinition;
  /** Its rendered manifests (the folder its directory source reads). */
  readonly objects: readonly KubeObject[];
  /** Its chart values, when it installs a chart. */
  readonly helmValues?: Record<string, unknown>;
  /** API groups whose CRDs its chart installs. */
  readonly customResourceGroups: readonly string[];
}

/** What the README's runbook creates by hand, and when. */
export interface Runbook {
  /** Namespaces and Secrets (`<namespace>/<name>`) created before Argo CD starts. */
  readonly beforeArgoCd: { readonly namespaces: ReadonlySet<string>; readonly secrets: ReadonlySet<string> };
  /** Secrets created at the Vault step, with the Vault entries (`secret/...` CLI paths) their values are copied from. */
  readonly atVaultStep: { readonly namespaces: ReadonlySet<string>; readonly secrets: ReadonlyMap<string, readonly string[]> };
  /** The environments' roots are applied in a later step than the platform root (once it is Healthy). */
  readonly environmentRootsAfterPlatform: boolean;
}

/** One unmet prerequisite, as a sentence naming the chain. */
export type Finding = string;

const label = (app: BringupApplication) => `${app.name} (wave ${app.wave}${app.env === PLATFORM_ENV ? '' : `, ${app.env} root`})`;

/**
 * Reads the runbook from the README: the numbered steps of "Runbook from zero", each linking the
 * sections it runs; the step linking the Argo CD bootstrap splits "before Argo CD" from the rest,
 * and the step linking the Vault section is the Vault step.
 */
export function runbookFromReadme(readme: string): Runbook {
  const sections = new Map<string, string>();
  for (const part of readme.split(/^(?=## )/m)) {
    const heading = /^## (.+)$/m.exec(part)?.[1];
    if (heading) sections.set(anchorOf(heading), part);
  }
  const runbook = sections.get('runbook-from-zero');
  if (!runbook) throw new Error('README: no "## Runbook from zero" section');
  const steps = [...runbook.matchAll(/^\*\*(\d+)\. [\s\S]*?(?=^\*\*\d+\. |(?![\s\S]))/gm)].map((m) => ({
    number: Number(m[1]),
    text: m[0],
    links: [...m[0].matchAll(/\]\(#([a-z0-9-]+)\)/g)].map((l) => l[1]),
  }));
  const argoStep = steps.findIndex((s) => s.links.includes('bootstrap-argo-cd-and-the-root-applications'));
  const vaultStep = steps.findIndex((s) => s.links.includes('vault-initialise-unseal-configure'));
  if (argoStep < 0 || vaultStep < 0) throw new Error('README: the runbook names no step linking the Argo CD bootstrap or the Vault section');
  const commandsOf = (stepIndexes: number[]) =>
    stepIndexes
      .flatMap((i) => [steps[i].text, ...steps[i].links.filter((l) => l !== 'runbook-from-zero').map((l) => sections.get(l) ?? '')])
      .flatMap((text) => [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]))
      .join('\n')
      .replace(/\\\n\s*/g, ' ');
  const created = (commands: string) => ({
    namespaces: new Set([...commands.matchAll(/kubectl create namespace ([a-z0-9-]+)/g)].map((m) => m[1])),
    secrets: commands
      .split('\n')
      .flatMap((line) => [...line.matchAll(/kubectl -n ([a-z0-9-]+) create secret (?:generic|tls) ([a-z0-9-]+)/g)].map((m) => ({
        secret: `${m[1]}/${m[2]}`,
        entries: [...line.matchAll(/\bv (secret\/[a-z0-9/-]+) /g)].map((e) => e[1]),
      }))),
  });
  const early = created(commandsOf(steps.map((_, i) => i).filter((i) => i < argoStep)));
  const vault = created(commandsOf([vaultStep]));
  const stepApplying = (root: RegExp) => steps.findIndex((_, i) => root.test(commandsOf([i])));
  const platformRoot = stepApplying(new RegExp(`kubectl apply -n argocd -f dist/k8s/${PLATFORM_ENV}/bootstrap/`));
  const environmentRoots = stepApplying(new RegExp(`kubectl apply -n argocd -f dist/k8s/(?!${PLATFORM_ENV}/)[a-z0-9-]+/bootstrap/`));
  if (platformRoot < 0 || environmentRoots < 0) throw new Error('README: the runbook applies no platform root or no environment root');
  return {
    environmentRootsAfterPlatform: environmentRoots > platformRoot,
    beforeArgoCd: { namespaces: early.namespaces, secrets: new Set(early.secrets.map((s) => s.secret)) },
    atVaultStep: { namespaces: vault.namespaces, secrets: new Map(vault.secrets.map((s) => [s.secret, s.entries])) },
  };
}

/** GitHub's and GitLab's heading anchors. */
function anchorOf(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

/** The Applications of a render, in bring-up order. */
export function bringupApplications(platform: Platform, files: ReadonlyMap<string, string>, runbook: Pick<Runbook, 'environmentRootsAfterPlatform'>): BringupApplication[] {
  const apps: BringupApplication[] = [];
  // Parsed through the per-worker cache (a fresh copy per call): the walk reads every file of the
  // render, and a test walks the same render several times with one Application changed.
  const parse = (text: string) => parseYamlCached(text);
  const filesOf = new Map<string, string[]>();
  for (const [path, text] of files) {
    const folder = path.slice(0, path.lastIndexOf('/') + 1);
    filesOf.set(folder, [...(filesOf.get(folder) ?? []), text]);
  }
  for (const env of renderedEnvironments(platform)) {
    for (const service of servicesOf(env, platform)) {
      const name = applicationName(env, service.name);
      const text = files.get(`k8s/${env}/apps/application-${name}.yaml`);
      if (!text) throw new Error(`k8s/${env}/apps/application-${name}.yaml: not rendered, but ${env} runs ${service.name}`);
      const application = parse(text) as KubeObject & { spec: { source?: any; sources?: any[]; destination: { namespace: string } } };
      const wave = Number((application.metadata.annotations as Record<string, string>)['argocd.argoproj.io/sync-wave'] ?? '0');
      const sources = application.spec.sources ?? [application.spec.source];
      const helm = sources.find((s) => s.helm)?.helm?.valuesObject as Record<string, unknown> | undefined;
      const folder = `k8s/${env}/${service.name}/`;
      const objects = (filesOf.get(folder) ?? []).map((t) => parse(t) as KubeObject);
      apps.push({
        name,
        env,
        wave,
        position: [env === PLATFORM_ENV || !runbook.environmentRootsAfterPlatform ? 0 : 1, wave],
        namespace: application.spec.destination.namespace,
        service,
        objects,
        helmValues: helm,
        customResourceGroups: [...(service.helm?.(platform).customResourceGroups ?? []), ...(service.registersCustomResourceGroups ?? [])],
      });
    }
  }
  return apps.sort((a, b) => (before(a.position, b.position) ? -1 : before(b.position, a.position) ? 1 : 0));
}

/**
 * The Vault entries (CLI paths, `secret/<...>`) the rendered load-kv.sh writes: at the Vault step
 * (`load`), or, for a value a running service issues (`issued <service>`), once that service runs.
 */
export function entriesLoadedByScript(files: ReadonlyMap<string, string>): Map<string, { readonly issuedBy?: string }> {
  const path = `k8s/${PLATFORM_ENV}/vault/configmap-vault-config.yaml`;
  const text = files.get(path);
  const script = text ? ((parseYamlCached(text) as { data?: Record<string, string> }).data?.['load-kv.sh'] ?? '') : '';
  if (!script) throw new Error(`${path}: no load-kv.sh; the Vault step loads nothing`);
  return new Map([
    ...[...script.matchAll(/^load \S+ (secret\/\S+)/gm)].map((m): [string, { issuedBy?: string }] => [m[1], {}]),
    ...[...script.matchAll(/^issued (\S+) \S+ (secret\/\S+)/gm)].map((m): [string, { issuedBy?: string }] => [m[2], { issuedBy: m[1] }]),
  ]);
}

/**
 * The Secret names a chart's values refer to: the charts' own keys (`existingSecret`,
 * `existing...Secret`, `secret`, `secretName`) and Kubernetes references inside values that are
 * pod spec fragments (`secretKeyRef`/`secretRef` of `extraEnvVars`, `env`, `envFrom`).
 */
export function chartSecretReferences(values: unknown, path = ''): { path: string; name: string }[] {
  if (Array.isArray(values)) return values.flatMap((v, i) => chartSecretReferences(v, `${path}.${i}`));
  if (!values || typeof values !== 'object') return [];
  return Object.entries(values).flatMap(([key, value]) => {
    const here = path ? `${path}.${key}` : key;
    if (typeof value === 'string' && /^(existing\w*Secret\w*|secret|secretName)$/.test(key) && !/Key$/.test(key)) return [{ path: here, name: value }];
    const ref = value as { name?: unknown } | null;
    if (/^(secretKeyRef|secretRef)$/.test(key) && typeof ref?.name === 'string') return [{ path: `${here}.name`, name: ref.name }];
    return chartSecretReferences(value, here);
  });
}

const cliPath = (dataPath: string) => dataPath.replace(/^secret\/data\//, 'secret/');

/** Walks the bring-up; returns every unmet prerequisite (empty: the platform comes up in order). */
export function walkBringup(platform: Platform, files: ReadonlyMap<string, string>, runbook: Runbook): Finding[] {
  const apps = bringupApplications(platform, files, runbook);
  const findings: Finding[] = [];
  const loaded = entriesLoadedByScript(files);

  // Who provides what: CRD groups, namespaces, workloads' pods.
  const crdProvider = new Map<string, BringupApplication>();
  for (const app of apps) for (const group of app.customResourceGroups) if (!crdProvider.has(group)) crdProvider.set(group, app);
  const namespaceProvider = new Map<string, BringupApplication>();
  for (const app of apps) for (const o of app.objects) if (o.kind === 'Namespace' && !namespaceProvider.has(o.metadata.name)) namespaceProvider.set(o.metadata.name, app);
  const podsOf = (workload: Workload): BringupApplication | 'cluster' | undefined => {
    const key = workload.selectorLabel ?? NAME_LABEL;
    const rendered = apps.find((app) =>
      app.objects.some((o) => {
        const template = POD_TEMPLATE_PATHS[o.kind]?.(o) as { metadata?: { labels?: Record<string, string> } } | undefined;
        return o.metadata.namespace === workload.namespace && template?.metadata?.labels?.[key] === workload.name;
      }),
    );
    if (rendered) return rendered;
    const charts = apps.filter((app) => app.helmValues && app.namespace === workload.namespace);
    if (charts.length === 1) return charts[0];
    // A namespace no Application creates is the cluster's own (kube-system: CoreDNS).
    if (!namespaceProvider.has(workload.namespace) && charts.length === 0) return 'cluster';
    return undefined;
  };
  const vaultPods = podsOf(VAULT_SERVER);
  const vault = typeof vaultPods === 'object' ? vaultPods : undefined;
  const consumersByApp = new Map<BringupApplication, readonly SecretConsumer[]>(apps.map((app) => [app, app.service.secretConsumers?.(platform) ?? []]));
  /** Why a Vault entry is not available to `app` yet (Vault itself aside), or undefined when it is. */
  const issuerLate = (app: BringupApplication, entry: string): string | undefined => {
    const issuedBy = loaded.get(cliPath(entry))?.issuedBy;
    if (issuedBy === undefined) return undefined;
    const issuer = apps.find((a) => a.env === PLATFORM_ENV && a.service.name === issuedBy);
    if (!issuer) return `vault entry ${entry}, issued by ${issuedBy}, which the platform does not run`;
    if (!before(issuer.position, app.position)) return `vault entry ${entry}, written once ${label(issuer)} runs and issues it`;
    return undefined;
  };

  // Same-wave "must reach" edges, for the cycle check.
  const reachEdges = new Map<BringupApplication, Map<BringupApplication, string>>();

  for (const app of apps) {
    const needs = (what: string) => findings.push(`${label(app)} needs ${what}`);

    // CRDs and namespaces of its rendered objects.
    for (const object of app.objects) {
      const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
      if (!BUILT_IN_GROUPS.has(group)) {
        const provider = crdProvider.get(group);
        if (!provider) needs(`the CRD of ${object.kind} (${group}), which no Application installs`);
        else if (provider !== app && !before(provider.position, app.position) && !isArgoCd(provider)) needs(`the CRD of ${object.kind} (${group}), installed by ${label(provider)}`);
      }
      const namespace = object.metadata.namespace;
      if (namespace) checkNamespace(namespace, `${object.kind} ${object.metadata.name}`);
    }
    if (app.helmValues) checkNamespace(app.namespace, 'its chart');

    function checkNamespace(namespace: string, forWhat: string) {
      const provider = namespaceProvider.get(namespace);
      if (provider === app || runbook.beforeArgoCd.namespaces.has(namespace)) return;
      if (provider && (before(provider.position, app.position) || isArgoCd(provider))) return;
      if (!provider && runbook.atVaultStep.namespaces.has(namespace) && vault && before(vault.position, app.position)) return;
      needs(`namespace ${namespace} for ${forWhat}, ${provider ? `created by ${label(provider)}` : 'which nothing creates'}`);
    }

    // Vault: the injector before its pods, and every entry they read.
    for (const consumer of consumersByApp.get(app) ?? []) {
      if (!vault) {
        needs(`Vault for consumer ${consumer.name}, which the platform does not run`);
        continue;
      }
      if (!before(vault.position, app.position)) needs(`the Vault agent injector for consumer ${consumer.name}, installed by ${label(vault)}`);
      for (const secret of consumer.secrets) {
        const entry = secretPath(consumer, secret);
        const late = loaded.has(cliPath(entry)) ? issuerLate(app, entry) : `vault entry ${entry}, which load-kv.sh does not load`;
        if (late) needs(late);
      }
    }

    // Secrets its chart values name.
    for (const { path, name } of chartSecretReferences(app.helmValues ?? {})) {
      const key = `${app.namespace}/${name}`;
      if (runbook.beforeArgoCd.secrets.has(key)) continue;
      if (app.objects.some((o) => o.kind === 'Certificate' && (o.spec as { secretName?: string }).secretName === name)) continue;
      const entries = runbook.atVaultStep.secrets.get(key);
      if (!entries) {
        needs(`Secret ${key} (chart value ${path}), which nothing creates`);
        continue;
      }
      if (!vault || !before(vault.position, app.position)) needs(`Secret ${key} (chart value ${path}), created at the Vault step once ${vault ? label(vault) : 'Vault'} runs`);
      for (const entry of entries) {
        const late = issuerLate(app, entry);
        if (late) needs(`Secret ${key} (chart value ${path}), copied from ${late}`);
      }
    }

    // Servers it connects to as a client (its own declared connections, and Vault for its consumers).
    const connections: Connection[] = [...(app.service.connections?.(platform) ?? [])];
    for (const connection of connections) {
      if (!('workload' in connection.from) || !('workload' in connection.to) || connection.optionalAtStart) continue;
      if (podsOf(connection.from.workload) !== app) continue;
      const server = podsOf(connection.to.workload);
      if (server === undefined) {
        needs(`workload ${connection.to.workload.namespace}/${connection.to.workload.name} (${connection.purpose}), which no Application runs`);
        continue;
      }
      if (server === 'cluster' || server === app || isArgoCd(server)) continue;
      if (before(app.position, server.position)) needs(`${connection.to.workload.namespace}/${connection.to.workload.name} (${connection.purpose}), run by ${label(server)}`);
      else if (sameTime(app.position, server.position)) {
        const edges = reachEdges.get(app) ?? new Map<BringupApplication, string>();
        edges.set(server, `${connection.to.workload.namespace}/${connection.to.workload.name} (${connection.purpose})`);
        reachEdges.set(app, edges);
      }
    }
  }

  // A cycle among Applications of one wave that each wait for the other's server.
  const reported = new Set<string>();
  for (const start of reachEdges.keys()) {
    const chain = findCycle(start, reachEdges);
    if (!chain) continue;
    const key = [...chain.map((c) => c.app.name)].sort().join(',');
    if (reported.has(key)) continue;
    reported.add(key);
    findings.push(`cycle: ${chain.map(({ app, via }) => `${label(app)} needs ${via}`).join(', which ')}`);
  }
  return findings;
}

/** Argo CD itself is installed by hand before any root (README), with its CRDs. */
function isArgoCd(app: BringupApplication): boolean {
  return app.env === PLATFORM_ENV && app.service.name === 'argocd';
}

function findCycle(
  start: BringupApplication,
  edges: ReadonlyMap<BringupApplication, ReadonlyMap<BringupApplication, string>>,
): { app: BringupApplication; via: string }[] | undefined {
  const path: { app: BringupApplication; via: string }[] = [];
  const seen = new Set<BringupApplication>();
  const visit = (node: BringupApplication): boolean => {
    for (const [next, via] of edges.get(node) ?? []) {
      path.push({ app: node, via });
      if (next === start) return true;
      if (!seen.has(next)) {
        seen.add(next);
        if (visit(next)) return true;
      }
      path.pop();
    }
    return false;
  };
  return visit(start) ? path : undefined;
}
