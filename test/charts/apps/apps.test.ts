import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KubeObject } from '../../../charts/lib/service';
import { TenantApp, checkAppNames } from '../../../charts/apps/app';
import { APP_CONTAINER } from '../../../charts/lib/delivery';
import { POLICY_GROUP } from '../../../charts/lib/mesh-policy';
import { PLATFORM_SERVICES, servicesOf } from '../../../charts/catalogue';
import { renderPlatform } from '../../../cli/render';
import { DEFAULT_IMAGE_TAGS, imageTagOf } from '../../../config/app-images';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform, type Platform } from '../../../config';
import { applyPatch } from '../../support/patch';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { NetworkPolicyEvaluator, type Endpoint, type Pod } from '../../support/network-evaluator';
import { violationsOf } from '../../policy/fixtures';

const platform = loadDefaultPlatform();
const ENVS = ['dev', 'staging', 'prod'] as const;
const at = (path: string) => parse(defaultRender().get(path)!) as any;
/** Linkerd's authorization objects, which the namespace renders with the mesh on (test/charts/lib/mesh-policy.test.ts). */
const isMeshAuthorization = (object: KubeObject) => object.apiVersion.startsWith(`${POLICY_GROUP}/`);
/** The files under `prefix`, without the mesh's authorization objects. */
const folder = (prefix: string) =>
  kubeObjects(defaultRender())
    .filter(({ path, object }) => path.startsWith(prefix) && !isMeshAuthorization(object))
    .map(({ path }) => path.slice(prefix.length))
    .sort();

// What one app's objects hold for given props: test/charts/apps/app.test.ts. Here: how the
// catalogue maps the model onto them, in the whole render, and the render-wide properties.
describe("the user's apps", () => {
  it('render, per environment, the tenant objects in dist/k8s/<env>/<app> and the namespace in the platform folder', () => {
    for (const env of ENVS) {
      expect(folder(`k8s/${env}/hello/`), env).toEqual([
        'deployment-hello.yaml',
        'ingress-hello.yaml',
        ...(env === 'prod' ? ['poddisruptionbudget-hello.yaml'] : []),
        'service-hello.yaml',
        'serviceaccount-hello.yaml',
      ]);
      expect(folder(`k8s/platform/hello-${env}-namespace/`), env).toEqual([
        `namespace-hello-${env}.yaml`,
        'networkpolicy-allow-hello.yaml',
        'networkpolicy-default-deny.yaml',
        'role-rollout-reader.yaml',
        'rolebinding-rollout-reader.yaml',
      ]);
      // With the seed's mesh, the namespace also authorizes the app's port for its declared clients.
      expect(at(`k8s/platform/hello-${env}-namespace/server-hello-http.yaml`).spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('hello');
      const namespace = at(`k8s/platform/hello-${env}-namespace/namespace-hello-${env}.yaml`);
      for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    }
  });

  it("runs each environment's tag of the image from Harbor, with its replicas and resources", () => {
    for (const env of ENVS) {
      const deployment = at(`k8s/${env}/hello/deployment-hello.yaml`);
      const model = platform.apps.hello.environments[env];
      // The tag comes from config/app-images.json, which the pipeline edits: never pinned here.
      expect(model.tag).toBe(DEFAULT_IMAGE_TAGS.hello[env]);
      expect(model.tag).toBe(imageTagOf('hello', env));
      expect(deployment.spec.replicas).toBe(model.replicas);
      const [container] = deployment.spec.template.spec.containers;
      expect(container.name).toBe(APP_CONTAINER);
      expect(container.image).toBe(`registry.lumetium.com/apps/hello:${model.tag}`);
      expect(container.resources).toEqual(model.resources);
      expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.env).toEqual([{ name: 'APP_ENV', value: env }, { name: 'PORT', value: '8080' }]);
    }
  });

  it('serves each environment on its host with TLS from the production issuer (its record is proxied)', () => {
    const issuers = { dev: 'letsencrypt-prod', staging: 'letsencrypt-prod', prod: 'letsencrypt-prod' };
    for (const env of ENVS) {
      const ingress = at(`k8s/${env}/hello/ingress-hello.yaml`);
      const host = platform.apps.hello.environments[env].host;
      expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': issuers[env] });
      expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: 'hello-tls' }]);
    }
  });

  it('is deployed by an Application per environment, in its own project that may deploy only its namespace there', () => {
    for (const env of ENVS) {
      const application = at(`k8s/${env}/apps/application-hello-${env}.yaml`);
      expect(application.spec.project).toBe(`hello-${env}`);
      expect(application.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: `hello-${env}` });
      expect(application.spec.source.path).toBe(`dist/k8s/${env}/hello`);
      const project = at(`k8s/platform/argocd/appproject-hello-${env}.yaml`);
      expect(project.spec.destinations).toEqual([{ server: 'https://kubernetes.default.svc', namespace: `hello-${env}` }]);
      expect(project.spec.clusterResourceWhitelist).toEqual([]);
      // The namespace (a cluster-scoped kind) is the platform's: the tenant project cannot create one.
      expect(at(`k8s/platform/apps/application-hello-${env}-namespace.yaml`).spec.project).toBe('platform');
    }
  });

  it('reads its secrets from Vault as consumer <app>-<env>, with a token only the agent sees', () => {
    for (const env of ENVS) {
      const pod = at(`k8s/${env}/hello/deployment-hello.yaml`).spec.template;
      expect(pod.metadata.annotations).toMatchObject({
        'vault.hashicorp.com/role': `hello-${env}`,
        'vault.hashicorp.com/agent-inject-secret-config': `secret/data/hello-${env}/config`,
        'vault.hashicorp.com/agent-service-account-token-volume-name': 'vault-token',
      });
      expect(pod.spec.automountServiceAccountToken).toBe(false);
      expect(at(`k8s/${env}/hello/serviceaccount-hello.yaml`).automountServiceAccountToken).toBe(false);
      expect(pod.spec.volumes).toContainEqual(expect.objectContaining({ name: 'vault-token' }));
      expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      const [consumer] = TenantApp.registrationFor('hello', env).secretConsumers!(platform);
      expect(consumer).toEqual({ name: `hello-${env}`, namespace: `hello-${env}`, serviceAccount: 'hello', workload: { namespace: `hello-${env}`, name: 'hello' }, secrets: [{ name: 'config', keys: ['GREETING'] }] });
    }
  });

  it('has no Vault agent when it declares no secret', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const deployment = parse(renderPlatform(single).get('k8s/prod/shop/deployment-shop.yaml')!) as any;
    expect(deployment.spec.template.metadata.annotations).toBeUndefined();
    expect(deployment.spec.template.spec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }]);
    expect(TenantApp.registrationFor('shop', 'prod').secretConsumers!(single)).toEqual([]);
    expect(deployment.spec.replicas).toBe(3);
  });

  it('passes every policy rule (its own objects, with the ingress controller and the build pods as peers)', () => {
    const objects = kubeObjects(defaultRender())
      .filter(({ path }) => /^k8s\/(dev|staging|prod)\/hello\//.test(path) || /^k8s\/platform\/hello-[a-z]+-namespace\//.test(path))
      .map(({ object }) => object);
    expect(objects.filter((object) => !isMeshAuthorization(object)).length).toBe(28);
    expect(objects.some(isMeshAuthorization)).toBe(platform.serviceMesh.enabled);
    expect(violationsOf(objects).filter((v) => /\/hello-(dev|staging|prod)\//.test(v) || /Namespace\/-\/hello/.test(v))).toEqual([]);
  });
});

describe('network isolation of the apps', () => {
  const evaluator = new NetworkPolicyEvaluator(kubeObjects(defaultRender()).map(({ object }) => object));
  let ip = 0;
  const pod = (namespace: string, name: string): Endpoint => ({ pod: { namespace, labels: { 'app.kubernetes.io/name': name }, ip: `10.42.8.${++ip}` } as Pod });
  const dev = pod('hello-dev', 'hello');
  const prod = pod('hello-prod', 'hello');

  it('admits the ingress controller and the smoke tests, and lets the app reach DNS and Vault only', () => {
    const allowed: [string, Endpoint, Endpoint, number, ('TCP' | 'UDP')?][] = [
      ['the ingress controller serves it', pod('nginx-ingress', 'nginx-ingress'), dev, 8080],
      ['the pipeline smoke-tests it', pod('builds', 'deploy-agent'), prod, 8080],
      ['its Vault agent reads secrets', dev, pod('vault', 'vault'), 8200],
      ['it resolves names', dev, { pod: { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ip: '10.42.8.200' } }, 53, 'UDP'],
    ];
    for (const [why, from, to, port, protocol] of allowed) expect(evaluator.allows({ from, to, port, protocol }), why).toBe(true);
    const denied: [string, Endpoint, Endpoint, number][] = [
      ['dev cannot call prod', dev, prod, 8080],
      ['a build pod cannot call the app', pod('builds', 'kaniko'), dev, 8080],
      ['the app cannot reach the internet', dev, { ip: '34.120.1.1' }, 443],
      ['the app cannot reach Jenkins', dev, pod('jenkins', 'jenkins'), 8080],
      ['a stranger in the namespace reaches nothing', pod('hello-dev', 'intruder'), pod('vault', 'vault'), 8200],
      ['the outside cannot reach the app around the ingress controller', { ip: '34.120.1.1' }, dev, 8080],
    ];
    for (const [why, from, to, port] of denied) expect(evaluator.allows({ from, to, port }), why).toBe(false);
  });
});

describe('names the platform already uses', () => {
  const withEnvironment = (env: string, app: string): Platform =>
    validatePlatform(
      applyPatch(platform, {
        environments: { [env]: { certificateIssuer: 'letsencrypt-staging' } },
        apps: {
          hello: { environments: { [env]: { ...platform.apps.hello.environments.dev, host: `hello-${env}.lumetium.com` } } },
          [app]: {
            ...platform.apps.hello,
            // Its own Harbor project: two apps never share one (config/schema.ts, decision 0119).
            image: `${app}/${app}`,
            environments: Object.fromEntries(
              [...ENVS, env].map((e) => [e, { ...platform.apps.hello.environments.dev, host: `${app}-x-${e}.lumetium.com` }]),
            ),
          },
        },
      }),
    );

  it('fail the render when an app namespace is a platform namespace or Application', () => {
    expect(() => checkAppNames(withEnvironment('ingress', 'nginx'), PLATFORM_SERVICES)).toThrow(
      'apps.nginx: its namespace and Application in ingress, "nginx-ingress", is also the namespace of platform service nginx-ingress; rename the app',
    );
    expect(() => checkAppNames(withEnvironment('manager', 'cert'), PLATFORM_SERVICES)).toThrow(
      'apps.cert: its namespace and Application in manager, "cert-manager", is also the namespace of platform service cert-manager; rename the app',
    );
    expect(() => checkAppNames(withEnvironment('system', 'kube'), PLATFORM_SERVICES)).toThrow('"kube-system", is also a namespace of Kubernetes itself');
    expect(() => servicesOf('platform', withEnvironment('ingress', 'nginx'))).toThrow('apps.nginx:');
  });

  it('leave an unrelated app alone', () => {
    expect(() => checkAppNames(withEnvironment('qa', 'shop'), PLATFORM_SERVICES)).not.toThrow();
  });
});

describe('the rendered objects', () => {
  it('are the same for any checkout of the same model (the app tags are model values)', () => {
    const moved = validatePlatform(applyPatch(platform, { apps: { hello: { environments: { staging: { tag: 'c0ffee' } } } } }));
    const changed = [...renderPlatform(moved)].filter(([path, text]) => defaultRender().get(path) !== text).map(([path]) => path);
    expect(changed).toEqual(['README.md', 'k8s/staging/hello/deployment-hello.yaml']);
    expect((parse(renderPlatform(moved).get('k8s/staging/hello/deployment-hello.yaml')!) as KubeObject & { spec: any }).spec.template.spec.containers[0].image).toBe(
      'registry.lumetium.com/apps/hello:c0ffee',
    );
  });
});
