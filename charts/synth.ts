/**
 * Renders every cdk8s chart of the platform into files: `k8s/<env>/<service>/<kind>-<name>.yaml`
 * (one object per file, so a diff names what changed), `k8s/<env>/apps/` and `k8s/<env>/bootstrap/`.
 */
import { App, Chart } from 'cdk8s';
import { PLATFORM_ENV, type Platform } from '../config';
import { buildAppOfApps, type RenderedService } from './gitops/app-of-apps';
import type { GroupKind } from './lib/argocd';
import type { KubeObject, RenderSummary, ServiceDefinition, ServicePlan } from './lib/service';
import { validateSecretConsumers, vaultClientConnection } from './lib/vault';
import { allServices, renderedEnvironments, servicesOf } from './catalogue';
import { meshControlPlaneConnections } from './mesh/linkerd';

/**
 * What every service builds against: all declared connections, and all Vault consumers with
 * their connection to Vault (so a consumer is one declaration; both NetworkPolicy halves follow),
 * and with the service mesh on, every meshed workload's connections to Linkerd's control plane.
 */
export function servicePlan(platform: Platform, services: readonly ServiceDefinition[]): ServicePlan {
  const secretConsumers = services.flatMap((service) => service.secretConsumers?.(platform) ?? []);
  validateSecretConsumers(secretConsumers);
  const connections = [...services.flatMap((service) => service.connections?.(platform) ?? []), ...secretConsumers.map(vaultClientConnection)];
  return {
    // Every meshed pod's proxy reaches the control plane: derived from the declared workloads.
    connections: [...connections, ...meshControlPlaneConnections(platform, connections)],
    secretConsumers,
    ...(platform.serviceMesh.enabled ? { serviceMesh: true } : {}),
  };
}

/** The Kubernetes objects of the platform by the file they go to (under `dist/`). */
export function renderKubernetesObjects(platform: Platform): Map<string, KubeObject> {
  const app = new App();
  const envs = renderedEnvironments(platform);
  const folders: [string, Chart][] = [];
  // Objects of each service chart, resolved once (cdk8s' resolve is a large part of a render);
  // the argocd chart is resolved again at the end because the app-of-apps adds the AppProjects.
  const resolved = new Map<Chart, KubeObject[]>();
  const rendered: RenderedService[] = [];
  let projectsChart: Chart | undefined;

  // Every declared connection and Vault consumer of the render: each namespace renders its half
  // of each connection; Vault renders a role and a policy per consumer.
  const plan = servicePlan(platform, allServices(platform));

  const built: { env: string; service: ServiceDefinition; chart: Chart; objects: KubeObject[]; helm: ReturnType<NonNullable<ServiceDefinition['helm']>> | undefined }[] = [];
  for (const env of envs) {
    for (const service of servicesOf(env, platform)) {
      const chart = new Chart(app, `${env}-${service.name}`, { disableResourceNameHashes: true });
      service.build(chart, platform, plan);
      built.push({ env, service, chart, objects: chart.toJson() as KubeObject[], helm: service.helm?.(platform) });
      folders.push([`k8s/${env}/${service.name}`, chart]);
      if (env === PLATFORM_ENV && service.name === 'argocd') projectsChart = chart;
    }
  }
  if (!projectsChart) throw new Error('the platform must include the argocd service: it holds the AppProjects');

  // Objects derived from the whole render (the backup schedule's namespaces), then resolved again.
  const summary: RenderSummary = {
    services: built.map(({ env, service, objects, helm }) => ({ env, service, objects, chartHoldsState: helm?.persistentVolumeClaims === true })),
  };
  for (const entry of built.filter(({ service }) => service.afterRender)) {
    entry.service.afterRender!(entry.chart, platform, summary);
    entry.objects = entry.chart.toJson() as KubeObject[];
  }

  for (const { env, service, chart, objects, helm } of built) {
    resolved.set(chart, objects);
    rendered.push({
      env,
      service,
      namespaces: [service.namespace, ...objects.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : []))],
      clusterResources: [...objects.filter((o) => !o.metadata.namespace).map(groupKind), ...(helm?.clusterResources ?? [])],
      helmRepos: helm ? [helm.repoURL] : [],
      hasManifests: objects.length > 0,
    });
  }

  for (const [env, charts] of buildAppOfApps(app, platform, envs, rendered, projectsChart)) {
    folders.push([`k8s/${env}/apps`, charts.apps], [`k8s/${env}/bootstrap`, charts.bootstrap]);
  }

  const errors = app.node.findAll().flatMap((construct) => construct.node.validate().map((e) => `${construct.node.path}: ${e}`));
  if (errors.length) throw new Error(`the rendered charts are invalid:\n  ${errors.join('\n  ')}`);

  const files = new Map<string, KubeObject>();
  for (const [folder, chart] of folders) {
    const objects = chart === projectsChart ? (chart.toJson() as KubeObject[]) : (resolved.get(chart) ?? (chart.toJson() as KubeObject[]));
    for (const object of objects) {
      const path = `${folder}/${fileNameOf(object)}`;
      if (files.has(path)) {
        throw new Error(`${path}: two objects render to the same file (${object.kind} ${object.metadata.name}); give them distinct names`);
      }
      files.set(path, object);
    }
  }
  return files;
}

function groupKind(object: KubeObject): GroupKind {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  return { group, kind: object.kind };
}

export function fileNameOf(object: KubeObject): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

