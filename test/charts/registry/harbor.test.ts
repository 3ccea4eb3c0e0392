import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import {
  HARBOR_COMPONENTS,
  HARBOR_SECRETS,
  Harbor,
  harborChart,
  harborOidcOf,
  setupConsumer,
  setupConfig,
  trivyRedisURL,
  type HarborChartProps,
  type HarborProps,
} from '../../../charts/registry/harbor';
import { HARBOR_ROBOTS, appPushRobot, appPushRobots, robotUserName } from '../../../config/harbor-robots';
import { REDIS_DATABASES, REDIS_HOST, REDIS_PORT } from '../../../charts/lib/data-endpoints';
import { serviceAccountOf } from '../../../charts/lib/network';
import { REDIS_USERS } from '../../../charts/data/redis';
import { SETUP_SCRIPT } from '../../../charts/registry/setup-script';
import { secretPath, vaultClientConnection } from '../../../charts/lib/vault';
import { oidcRedirectUris } from '../../../charts/lib/sso';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';
import { hasCommand, requireValidator } from '../../support/validators';
import { CHARTS } from '../../../config/versions';

const CHART_PROPS: HarborChartProps = { host: 'registry.example.com', node: 'node-h', registryStorageGiB: 100, trivyStorageGiB: 5 };
const values = () => harborChart(CHART_PROPS).values as any;

/** Harbor's own objects, with the network plan of its own connections (and, as the render adds, its setup Job's to Vault). */
function objects(props: Partial<HarborProps> = {}): any[] {
  const platform = loadDefaultPlatform();
  const connections = [...Harbor.registration.connections!(platform), ...Harbor.registration.secretConsumers!(platform).map(vaultClientConnection)];
  const chart = Testing.chart();
  new Harbor(chart, 'harbor', {
    host: 'registry.example.com',
    issuer: 'letsencrypt-prod',
    projects: [{ name: 'apps', public: false }],
    preventSeverity: 'critical',
    vaultTlsServerName: 'vault.example.com',
    plan: { connections },
    ...props,
  });
  return Testing.synth(chart);
}
const find = (all: any[], kind: string, name: string) => all.find((o) => o.kind === kind && o.metadata.name === name);

describe('Harbor', () => {
  it('GIVEN the registration THEN it installs the pinned official chart with Trivy, on our PostgreSQL and Redis', () => {
    expect(harborChart(CHART_PROPS)).toMatchObject({ repoURL: 'https://helm.goharbor.io', chart: 'harbor', version: CHARTS.harbor.version, releaseName: 'harbor' });
    expect(Harbor.registration).toMatchObject({ name: 'harbor', namespace: 'harbor' });
    expect(values().trivy).toMatchObject({ enabled: true, ignoreUnfixed: false });
    expect(values().database.external).toEqual({
      host: 'postgresql.databases.svc',
      port: '5432',
      username: 'harbor',
      coreDatabase: 'registry',
      existingSecret: 'harbor-database',
      sslmode: 'disable',
    });
    expect(values().redis).toEqual({
      type: 'external',
      external: {
        addr: 'redis.databases.svc:6379',
        coreDatabaseIndex: '0',
        jobserviceDatabaseIndex: '1',
        registryDatabaseIndex: '2',
        trivyAdapterIndex: '5',
        username: 'harbor',
      },
    });
    expect(values().database.type).toBe('external');
  });

  describe('GIVEN Argo CD renders the chart without a cluster (Helm lookup returns nothing)', () => {
    /** A container's env as the kubelet resolves it: secretKeyRefs as `secret.<name>.<key>`, `$(VAR)` expanded from earlier entries. */
    const resolve = (env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]) => {
      const resolved = new Map<string, string>();
      for (const variable of env) {
        const value = variable.valueFrom
          ? `secret.${variable.valueFrom.secretKeyRef.name}.${variable.valueFrom.secretKeyRef.key}`
          : (variable.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => resolved.get(name) ?? whole);
        resolved.set(variable.name, value);
      }
      return resolved;
    };
    const password = `secret.${HARBOR_SECRETS.redis.name}.REDIS_PASSWORD`;
    const expectUrl = (url: string | undefined, database: number, where: string) => {
      expect(url, where).toBeDefined();
      const parsed = new URL(url!);
      expect({ user: parsed.username, password: decodeURIComponent(parsed.password), host: parsed.host, database: parsed.pathname }, where).toEqual({
        user: 'harbor',
        password,
        host: `${REDIS_HOST}:${REDIS_PORT}`,
        database: `/${database}`,
      });
    };

    it('WHEN the values are read THEN no Redis credential depends on lookup and none is written into the values', () => {
      expect(values().redis.external.existingSecret).toBeUndefined();
      expect(values().redis.external.password).toBeUndefined();
      expect(REDIS_USERS.map((u) => u.user)).toContain(values().redis.external.username);
    });

    it('THEN core, job service and exporter get Redis URLs with Harbor’s user and password, and the registry its password', () => {
      const { core, jobservice, registry } = REDIS_DATABASES.harbor;
      const coreEnv = resolve(values().core.extraEnvVars);
      expectUrl(coreEnv.get('_REDIS_URL_CORE'), core, 'core _REDIS_URL_CORE');
      expectUrl(coreEnv.get('_REDIS_URL_REG'), registry, 'core _REDIS_URL_REG');
      const jobEnv = resolve(values().jobservice.extraEnvVars);
      expectUrl(jobEnv.get('_REDIS_URL_CORE'), core, 'jobservice _REDIS_URL_CORE');
      expectUrl(jobEnv.get('JOB_SERVICE_POOL_REDIS_URL'), jobservice, 'jobservice JOB_SERVICE_POOL_REDIS_URL');
      expectUrl(resolve(values().exporter.extraEnvVars).get('HARBOR_REDIS_URL'), jobservice, 'exporter HARBOR_REDIS_URL');
      expect(resolve(values().registry.registry.extraEnvVars).get('REGISTRY_REDIS_PASSWORD')).toBe(password);
    });

    it('THEN Trivy’s URL comes from the harbor-trivy Secret the runbook creates, and Argo CD keeps that key', () => {
      // The Application keeps an ignored key on sync (RespectIgnoreDifferences): test/charts/lib/argocd.test.ts.
      expect(harborChart(CHART_PROPS).ignoreDifferences).toContainEqual(
        expect.objectContaining({ group: '', kind: 'Secret', name: 'harbor-trivy', namespace: 'harbor', jsonPointers: ['/data/redisURL'] }),
      );
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const created = /kubectl -n harbor create secret generic harbor-trivy \\\n\s+--from-literal=redisURL="([^"\n]+)"/.exec(readme);
      expect(created, 'README creates harbor-trivy with redisURL').not.toBeNull();
      expect(created![1]).toBe(trivyRedisURL('$(v secret/redis/harbor password)'));
      expectUrl(trivyRedisURL(password), REDIS_DATABASES.harbor.trivy, 'trivy redisURL');
    });
  });

  it('GIVEN sizes and a node WHEN the values are rendered THEN images and Trivy data are on ceph-rbd volumes of those sizes, every component on that node', () => {
    expect(values().persistence.persistentVolumeClaim).toEqual({
      registry: { storageClass: 'ceph-rbd', size: '100Gi' },
      trivy: { storageClass: 'ceph-rbd', size: '5Gi' },
    });
    expect(values().persistence.imageChartStorage).toEqual({ type: 'filesystem' });
    for (const component of ['core', 'jobservice', 'registry', 'trivy', 'portal', 'nginx', 'exporter']) {
      expect(values()[component].nodeSelector, component).toEqual({ 'platform-synthesizer.io/node': 'node-h' });
    }
  });

  describe('GIVEN the chart values we render WHEN the components’ pods start', () => {
    // The chart's pod components are those its values schema gives a `serviceAccountName`
    // (templates/*/: `serviceAccountName: {{ .Values.<component>.serviceAccountName }}`, else `default`).
    const schema = JSON.parse(readFileSync(join(ROOT, 'imports/charts/harbor.schema.json'), 'utf8'));
    const chartComponents = Object.keys(schema.properties).filter((key) => schema.properties[key].properties?.serviceAccountName);
    const runsAs = (component: string): string => values()[component].serviceAccountName || 'default';

    it('THEN each component runs as an account of its own: none is `default`, no two share one', () => {
      expect(chartComponents.length).toBeGreaterThan(5);
      const byAccount = new Map<string, string[]>();
      for (const component of chartComponents) byAccount.set(runsAs(component), [...(byAccount.get(runsAs(component)) ?? []), component]);
      const problems = [...byAccount].flatMap(([account, components]) => [
        ...(account === 'default' ? [`${components.join(', ')} run as the namespace's default ServiceAccount`] : []),
        ...(components.length > 1 ? [`${components.join(' and ')} share ServiceAccount "${account}"`] : []),
      ]);
      expect(problems).toEqual([]);
    });

    it('THEN our objects hold each account, without the API token, and the mesh names the same account', () => {
      const accounts = objects().filter((o) => o.kind === 'ServiceAccount');
      for (const component of chartComponents) {
        const account = find(accounts, 'ServiceAccount', runsAs(component));
        expect(account, `ServiceAccount of ${component}`).toBeDefined();
        expect(account.automountServiceAccountToken, component).toBe(false);
        expect(values()[component].automountServiceAccountToken, component).toBe(false);
        const workload = HARBOR_COMPONENTS.find((w) => w.name === component);
        expect(workload && serviceAccountOf(workload), `the Workload constant of ${component}`).toBe(runsAs(component));
      }
    });
  });

  it('GIVEN the values THEN every Harbor container runs restricted: non-root, unprivileged, no capabilities, RuntimeDefault seccomp', () => {
    expect(values().containerSecurityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('GIVEN the values and objects THEN no secret is generated at render time: every chart secret is an existing Secret', () => {
    const v = values();
    expect(JSON.stringify(v)).not.toMatch(/harborAdminPassword|"password"|"secret":"[^h]/);
    expect(v.existingSecretAdminPassword).toBe('harbor-admin');
    expect(v.existingSecretSecretKey).toBe('harbor-internal');
    expect(v.core).toMatchObject({ existingSecret: 'harbor-internal', existingXsrfSecret: 'harbor-internal', secretName: 'harbor-core-token' });
    expect(v.jobservice.existingSecret).toBe('harbor-internal');
    expect(v.registry).toMatchObject({ existingSecret: 'harbor-internal', credentials: { existingSecret: 'harbor-internal' } });
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('GIVEN a host WHEN rendered THEN one TLS Ingress serves it to the chart proxy, with no body limit', () => {
    const ingresses = objects().filter((o) => o.kind === 'Ingress' && o.spec.rules.some((r: any) => r.host === 'registry.example.com'));
    expect(ingresses).toHaveLength(1);
    expect(ingresses[0].metadata.namespace).toBe('harbor');
    expect(ingresses[0].spec.tls).toEqual([{ hosts: ['registry.example.com'], secretName: 'harbor-tls' }]);
    expect(ingresses[0].spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'harbor', port: { number: 80 } });
    expect(ingresses[0].metadata.annotations['nginx.org/client-max-body-size']).toBe('0');
    expect(values().expose).toEqual({ type: 'clusterIP', tls: { enabled: false }, clusterIP: { name: 'harbor', ports: { httpPort: 80 } } });
    expect(values().externalURL).toBe('https://registry.example.com');
  });

  it('GIVEN projects and a severity WHEN rendered THEN the setup config holds the projects (scan on push, pulls blocked at that severity) and the cluster robot', () => {
    const config = JSON.parse(find(objects(), 'ConfigMap', 'harbor-setup-config').data['harbor.json']);
    expect(config).toEqual(setupConfig([{ name: 'apps', public: false }], 'critical'));
    expect(config.projects).toEqual([{ name: 'apps', public: false, autoScan: true, preventVulnerable: true, severity: 'critical', immutableTags: true }]);
    expect(config.robots.map((r: any) => [r.name, r.secretFile])).toEqual([['cluster-pull', '/vault/secrets/cluster-pull']]);
    expect(config.robots[0].permissions).toEqual([{ project: 'apps', access: [{ resource: 'repository', action: 'pull' }] }]);
    expect(HARBOR_ROBOTS.map(robotUserName)).toEqual(['robot$cluster-pull']);
    const model = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const single = setupConfig(model.harbor.projects, model.harbor.preventSeverity, appPushRobots(model.apps, model.harbor.robotLifetimeDays));
    // The app's own project (team, of team/storefront) is created too, private, and the cluster pulls from it.
    expect(single.projects.map((p) => [p.name, p.public, p.severity])).toEqual([['images', false, 'high'], ['mirror', true, 'high'], ['team', false, 'high']]);
    expect(single.robots[0].permissions.map((p) => p.project)).toEqual(['images', 'mirror', 'team']);
  });

  describe('GIVEN two apps, each pushing to its own project', () => {
    const robots = [appPushRobot('shop', 'shop/web', 90), appPushRobot('blog', 'blog/site', 30)];
    const appRobots = (config: any) => JSON.parse(config)['appRobots'];
    const rendered = () => appRobots(find(objects({ appRobots: robots }), 'ConfigMap', 'harbor-setup-config').data['harbor.json']);

    it('WHEN the setup config is rendered THEN each robot is granted its own project and nothing else, with its lifetime', () => {
      const config = rendered();
      expect(config.map((r: any) => [r.name, r.durationDays, r.vaultPath])).toEqual([
        ['push-shop', 90, 'secret/harbor-robots/apps/shop'],
        ['push-blog', 30, 'secret/harbor-robots/apps/blog'],
      ]);
      for (const [index, robot] of config.entries()) {
        const projects = robot.permissions.map((p: any) => p.project);
        expect(projects, robot.name).toEqual([robots[index]!.project]);
        expect(projects.some((p: string) => p.includes('*')), robot.name).toBe(false);
        expect(robot.permissions[0].access.map((a: any) => `${a.resource}:${a.action}`)).toContain('repository:push');
      }
    });

    it('WHEN the setup Job reads Vault THEN each robot comes from its own entry with the entry version, the OIDC client from the SSO path', () => {
      const consumer = setupConsumer(robots);
      expect(consumer.secrets.map((s) => secretPath(consumer, s))).toEqual([
        'secret/data/harbor/admin',
        'secret/data/harbor-robots/cluster-pull',
        'secret/data/harbor-robots/apps/shop',
        'secret/data/harbor-robots/apps/blog',
        'secret/data/sso/harbor',
      ]);
      expect(consumer.secrets[2]!.template).toContain('.Data.metadata.version');
      expect(setupConsumer(robots, false).secrets.map((s) => s.name)).not.toContain('oidc-client');
    });
  });

  it('GIVEN the model WHEN Harbor signs in through GitLab THEN the setup config names GitLab as issuer and the redirect URI is on the rendered host', () => {
    const platform = loadDefaultPlatform();
    const all = objects({ host: 'registry.example.com', oidc: { issuer: 'https://git.example.com', adminGroup: 'ops/admins' } });
    const config = JSON.parse(find(all, 'ConfigMap', 'harbor-setup-config').data['harbor.json']);
    expect(config.oidc.configuration).toMatchObject({
      auth_mode: 'oidc_auth',
      oidc_endpoint: 'https://git.example.com',
      oidc_scope: 'openid,profile,email',
      oidc_groups_claim: 'groups_direct',
      oidc_user_claim: 'preferred_username',
      oidc_admin_group: 'ops/admins',
      oidc_auto_onboard: true,
    });
    // The model's admin group (`sso.adminGroup`) through the catalogue.
    expect(harborOidcOf(platform).adminGroup).toBe(platform.sso.adminGroup);
    expect(config.oidc.clientFile).toBe('/vault/secrets/oidc-client');
    // Harbor sends `<externalURL>/c/oidc/callback` (goharbor/harbor v2.15.1 src/lib/config/userconfig.go
    // RedirectURL, src/common/const.go OIDCCallbackPath): the URI registered in GitLab
    // (charts/lib/sso.ts) must be exactly that, on the host our Ingress serves.
    const ingressHost = all.find((o) => o.kind === 'Ingress').spec.rules[0].host;
    expect(oidcRedirectUris('harbor', ingressHost)).toEqual([`https://${ingressHost}/c/oidc/callback`]);
    const externalURL = (Harbor.registration.helm!(platform).values as any).externalURL;
    expect(oidcRedirectUris('harbor', platform.services.harbor.host!)).toEqual([`${externalURL}/c/oidc/callback`]);
  });

  it('GIVEN Vault WHEN rendered THEN the setup runs as a PostSync Job with the admin and robot secrets from Vault (robots at harbor-robots/*), valid against the Kubernetes schemas', () => {
    const all = objects();
    const job = find(all, 'Job', 'harbor-setup');
    expect(job.metadata.namespace).toBe('harbor');
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    const annotations = job.spec.template.metadata.annotations;
    expect(annotations['vault.hashicorp.com/role']).toBe('harbor-setup');
    expect(annotations['vault.hashicorp.com/agent-pre-populate-only']).toBe('true');
    expect(annotations['vault.hashicorp.com/agent-inject-secret-cluster-pull']).toBe('secret/data/harbor-robots/cluster-pull');
    expect(job.spec.template.spec.containers[0].env).toEqual([
      { name: 'HARBOR_URL', value: 'http://harbor-core.harbor.svc' },
      { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
    ]);
    expect(find(all, 'ConfigMap', 'harbor-setup-config').data['setup.py']).toBe(SETUP_SCRIPT);
    // The program and its configuration are the mounted ConfigMap's files, read-only.
    const container = job.spec.template.spec.containers[0];
    expect(container.command).toEqual(['python3', '/etc/harbor-setup/setup.py', '/etc/harbor-setup/harbor.json']);
    expect(container.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/harbor-setup', readOnly: true }]);
    expect(job.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'harbor-setup-config' } });
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    for (const object of all) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN its connections WHEN rendered THEN the ingress controller reaches only the proxy, the setup Job only core and Vault, Trivy the internet on 443', () => {
    const evaluator = new NetworkPolicyEvaluator(objects());
    let ip = 20;
    const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ pod: { namespace, labels, ip: `10.42.10.${ip++}` } });
    const controller = pod('nginx-ingress', { 'app.kubernetes.io/name': 'nginx-ingress' });
    const component = (name: string) => pod('harbor', { component: name });
    expect(evaluator.allows({ from: controller, to: component('nginx'), port: 8080 })).toBe(true);
    expect(evaluator.allows({ from: controller, to: component('core'), port: 8080 })).toBe(false);
    const setup = pod('harbor', { 'app.kubernetes.io/name': 'harbor-setup' });
    expect(evaluator.allows({ from: setup, to: component('core'), port: 8080 })).toBe(true);
    expect(evaluator.allows({ from: setup, to: component('registry'), port: 5000 })).toBe(false);
    expect(evaluator.allows({ from: setup, to: pod('vault', { 'app.kubernetes.io/name': 'vault' }), port: 8200 })).toBe(true);
    expect(evaluator.allows({ from: component('trivy'), to: { ip: '140.82.112.3' }, port: 443 })).toBe(true);
    // Sign-in through GitLab: core calls GitLab's OIDC endpoints at the ingress controller; nothing else of Harbor does.
    expect(evaluator.allows({ from: component('core'), to: controller, port: 443 })).toBe(true);
    expect(evaluator.allows({ from: component('portal'), to: controller, port: 443 })).toBe(false);
    expect(evaluator.allows({ from: component('core'), to: { ip: '140.82.112.3' }, port: 443 })).toBe(false);
    expect(evaluator.allows({ from: component('portal'), to: pod('databases', { 'app.kubernetes.io/name': 'postgresql' }), port: 5432 })).toBe(false);
  });

  it('GIVEN another model WHEN the registration renders the chart THEN it reads that model’s host and node', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const v = Harbor.registration.helm!(single).values as any;
    expect(v.externalURL).toBe('https://images.example.net');
    expect(v.core.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'solo' });
    const seed = Harbor.registration.helm!(loadDefaultPlatform()).values as any;
    expect(seed.persistence.persistentVolumeClaim.registry.size).toBe(`${loadDefaultPlatform().harbor.registryStorageGiB}Gi`);
    expect(seed.core.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-02' });
  });
});

/**
 * A fake Harbor API: just the endpoints the setup Job calls, with state, recording every call. It
 * behaves as goharbor/harbor v2.15.1 does where the Job depends on it: a created robot gets a
 * generated secret whatever the request says, and expires `duration` days after its creation
 * (src/controller/robot/controller.go Create); a changed duration is counted from the creation
 * (src/server/v2.0/handler/robot.go updateV2Robot); the auth mode changes only while no user but
 * the admin exists (src/controller/config/controller.go authModeCanBeModified).
 */
function fakeHarbor(adminPassword: string) {
  const calls: string[] = [];
  const requests: { method: string; path: string; json: any }[] = [];
  const projects = new Map<string, Record<string, string>>();
  type Robot = { id: number; name: string; level: string; description: string; permissions: any; secret: string; duration: number; creation_time: number; expires_at: number };
  const robots: Robot[] = [];
  let nextId = 1;
  const immutableRules = new Map<string, any[]>();
  const state = { now: Math.floor(Date.now() / 1000), configurations: { auth_mode: 'db_auth' } as Record<string, unknown>, localUsers: 0 };
  const expiry = (created: number, duration: number) => (duration === -1 ? -1 : created + duration * 86400);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://harbor');
      const path = url.pathname.replace(/^\/api\/v2\.0/, '');
      calls.push(`${req.method} ${path}`);
      const reply = (status: number, payload?: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(payload === undefined ? '' : JSON.stringify(payload));
      };
      if (req.headers.authorization !== `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`) return reply(401, { errors: [{ code: 'UNAUTHORIZED' }] });
      const json = body ? JSON.parse(body) : undefined;
      requests.push({ method: req.method!, path, json });
      if (req.method === 'GET' && path === '/ping') return res.end('Pong');
      const project = path.match(/^\/projects\/([^/]+)$/);
      if (project && req.headers['x-is-resource-name'] !== 'true') return reply(400);
      if (project && req.method === 'GET') return projects.has(project[1]) ? reply(200, { name: project[1], metadata: projects.get(project[1]) }) : reply(404);
      if (project && req.method === 'PUT') return projects.set(project[1], json.metadata), reply(200);
      if (path === '/projects' && req.method === 'POST') return projects.set(json.project_name, json.metadata), reply(201);
      const rules = path.match(/^\/projects\/([^/]+)\/immutabletagrules(?:\/(\d+))?$/);
      if (rules) {
        if (req.headers['x-is-resource-name'] !== 'true' || !projects.has(rules[1])) return reply(404);
        const list = immutableRules.get(rules[1]) ?? [];
        immutableRules.set(rules[1], list);
        // What Harbor's model requires (src/pkg/immutable/model/rule.go: Required fields, kind doublestar).
        const valid = (rule: any) =>
          rule.action && rule.template && rule.tag_selectors?.length && rule.scope_selectors?.repository?.length &&
          [...rule.tag_selectors, ...rule.scope_selectors.repository].every((sel: any) => sel.kind === 'doublestar' && sel.decoration && sel.pattern);
        if (req.method === 'GET' && !rules[2]) return reply(200, list);
        if (req.method === 'POST' && !rules[2]) return valid(json) ? (list.push({ ...json, id: list.length + 1 }), reply(201)) : reply(400);
        const rule = list.find((r) => r.id === Number(rules[2]));
        if (req.method === 'PUT' && rule && json.id === rule.id && valid(json)) return Object.assign(rule, json), reply(200);
        return reply(400);
      }
      if (path === '/configurations' && req.method === 'GET') {
        const { auth_mode, ...rest } = state.configurations;
        return reply(200, { auth_mode: { value: auth_mode, editable: state.localUsers === 0 }, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, { value: k.includes('secret') ? '' : v, editable: true }])) });
      }
      if (path === '/configurations' && req.method === 'PUT') {
        if ('auth_mode' in json && json.auth_mode !== state.configurations.auth_mode && state.localUsers > 0) {
          return reply(400, { errors: [{ message: 'the auth mode cannot be modified as new users have been inserted into database' }] });
        }
        return Object.assign(state.configurations, json), reply(200);
      }
      const withoutSecret = ({ secret: _secret, ...r }: Robot) => r;
      if (path === '/robots' && req.method === 'GET') return reply(200, robots.map(withoutSecret));
      if (path === '/robots' && req.method === 'POST') {
        if (!(json.duration === -1 || json.duration > 0) || json.permissions?.length === 0) return reply(400);
        const id = nextId++;
        const robot: Robot = { id, name: `robot$${json.name}`, level: json.level, description: json.description, permissions: json.permissions, secret: `generated-${id}`, duration: json.duration, creation_time: state.now, expires_at: expiry(state.now, json.duration) };
        robots.push(robot);
        return reply(201, { id: robot.id, name: robot.name, secret: robot.secret, expires_at: robot.expires_at });
      }
      const robot = path.match(/^\/robots\/(\d+)$/);
      const existing = robot ? robots.find((r) => r.id === Number(robot[1])) : undefined;
      if (existing && req.method === 'GET') return reply(200, withoutSecret(existing));
      if (existing && req.method === 'PUT') {
        if (json.duration !== existing.duration) Object.assign(existing, { duration: json.duration, expires_at: expiry(existing.creation_time, json.duration) });
        return Object.assign(existing, { description: json.description, permissions: json.permissions }), reply(200);
      }
      if (existing && req.method === 'PATCH') return Object.assign(existing, { secret: json.secret }), reply(200);
      if (existing && req.method === 'DELETE') return robots.splice(robots.indexOf(existing), 1), reply(200);
      return reply(404);
    });
  });
  return { server, calls, requests, projects, robots, immutableRules, state };
}

function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('python3', args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The setup Job's program and the default model's configuration in a temporary folder, its secrets as the Vault agent writes them. */
function setupFolder(dir: string, overrides: { oidcClient?: string; appSecret?: { version: number; password: string } } = {}) {
  const platform = loadDefaultPlatform();
  const config = setupConfig(platform.harbor.projects, platform.harbor.preventSeverity, appPushRobots(platform.apps, platform.harbor.robotLifetimeDays), {
    issuer: 'https://git.example.com',
    adminGroup: 'platform-admins',
  });
  const files: Record<string, string> = {
    admin: 'Adm1n-pass\n',
    'cluster-pull': 'Pull-Secret-1\n',
    'push-hello': JSON.stringify(overrides.appSecret ?? { version: 1, password: 'Push-Hello-1' }),
    'oidc-client': overrides.oidcClient ?? JSON.stringify({ client_id: 'harbor-app-id', client_secret: 'harbor-app-secret' }),
  };
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, name), value);
  const local = {
    ...config,
    adminPasswordFile: join(dir, 'admin'),
    robots: config.robots.map((r) => ({ ...r, secretFile: join(dir, r.name) })),
    appRobots: config.appRobots.map((r) => ({ ...r, secretFile: join(dir, r.name) })),
    oidc: { ...config.oidc!, clientFile: join(dir, 'oidc-client') },
  };
  writeFileSync(join(dir, 'harbor.json'), JSON.stringify(local));
  writeFileSync(join(dir, 'setup.py'), SETUP_SCRIPT);
  return local;
}

/** Runs the Job's program against a fresh fake Harbor: `body` gets the fake and a runner. */
async function withFakeHarbor(body: (fake: ReturnType<typeof fakeHarbor>, dir: string, run: () => ReturnType<typeof runScript>) => Promise<void>) {
  if (!requireValidator('python3', hasCommand('python3'), 'apt-get install python3')) return;
  const dir = mkdtempSync(join(tmpdir(), 'harbor-setup-'));
  const fake = fakeHarbor('Adm1n-pass');
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  const env = { HARBOR_URL: `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`, HARBOR_WAIT_SECONDS: '10' };
  try {
    await body(fake, dir, () => runScript([join(dir, 'setup.py'), join(dir, 'harbor.json')], env));
  } finally {
    fake.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const DAY = 86400;
const dateOf = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10);

describe('the Harbor setup Job against a fake Harbor API', () => {
  it('creates projects and robots once, then updates them in place (idempotent), with the secrets from the files', async () => {
    await withFakeHarbor(async (fake, dir, run) => {
      setupFolder(dir);
      const first = await run();
      expect(first.stderr).toBe('');
      expect(first.status).toBe(0);
      const hello = () => fake.robots.find((r) => r.name === 'robot$push-hello')!;
      expect(first.stdout).toBe(
        'project apps: created\nproject apps: tags made immutable\nrobot cluster-pull: created\n' +
          `robot push-hello: created, expires ${dateOf(hello().expires_at)}\nsign-in through GitLab: configured\n`,
      );
      // Every tag of every repository of the project: a pushed tag never moves to another digest.
      expect(fake.immutableRules.get('apps')).toEqual([
        {
          id: 1,
          disabled: false,
          action: 'immutable',
          template: 'immutable_template',
          scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
          tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**' }],
        },
      ]);
      expect(fake.projects.get('apps')).toEqual({ public: 'false', auto_scan: 'true', prevent_vul: 'true', severity: 'critical' });
      // Harbor generated secrets at creation; the Job replaced them with Vault's.
      expect(fake.robots.map((r) => [r.name, r.level, r.secret, r.duration])).toEqual([
        ['robot$cluster-pull', 'system', 'Pull-Secret-1', -1],
        ['robot$push-hello', 'system', 'Push-Hello-1', 90],
      ]);
      expect(hello().permissions.map((p: any) => p.namespace)).toEqual(['apps']);
      expect(hello().expires_at).toBe(fake.state.now + 90 * DAY);

      // A second run (the next sync) creates nothing; a secret rotated in Vault is applied; the
      // immutability rule someone disabled by hand is enabled again, an unrelated rule is left alone.
      writeFileSync(join(dir, 'cluster-pull'), 'Pull-Secret-2\n');
      fake.immutableRules.get('apps')![0].disabled = true;
      const other = { id: 2, disabled: false, action: 'immutable', template: 'immutable_template', scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'base/**' }] }, tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }] };
      fake.immutableRules.get('apps')!.push(other);
      fake.calls.length = 0;
      fake.requests.length = 0;
      const second = await run();
      expect(second.stderr).toBe('');
      expect(second.status).toBe(0);
      expect(second.stdout).toBe(
        'project apps: updated\nproject apps: immutable tag rule enabled again\nrobot cluster-pull: updated\n' +
          `robot push-hello: updated, expires ${dateOf(hello().expires_at)}\nsign-in through GitLab: updated\n`,
      );
      expect(fake.immutableRules.get('apps')!.map((r) => [r.id, r.disabled])).toEqual([[1, false], [2, false]]);
      expect(fake.immutableRules.get('apps')![1]).toEqual(other);
      expect(fake.calls.filter((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toEqual([]);
      expect(fake.robots).toHaveLength(2);
      expect(fake.robots[0]!.secret).toBe('Pull-Secret-2');
      // The auth mode is sent only while it differs (Harbor refuses it once users exist).
      expect(fake.requests.find((r) => r.method === 'PUT' && r.path === '/configurations')!.json).not.toHaveProperty('auth_mode');

      // A wrong admin password is a clear failure, not a silent success.
      writeFileSync(join(dir, 'admin'), 'wrong\n');
      const failed = await runScript([join(dir, 'setup.py'), join(dir, 'harbor.json')], { HARBOR_URL: `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`, HARBOR_WAIT_SECONDS: '0' });
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(/^harbor-setup: Harbor did not answer within 0s: GET \/ping: HTTP 401/);
    });
  }, 60_000);

  it('GIVEN an app robot WHEN it nears expiry, expires, and its Vault entry is rotated THEN the Job warns, fails, then re-creates it with a new lifetime', async () => {
    await withFakeHarbor(async (fake, dir, run) => {
      setupFolder(dir);
      expect((await run()).status).toBe(0);
      const hello = () => fake.robots.find((r) => r.name === 'robot$push-hello')!;
      const now = Math.floor(Date.now() / 1000);

      hello().expires_at = now + 5 * DAY + 600;
      const near = await run();
      expect(near.status).toBe(0);
      expect(near.stdout).toContain(`robot push-hello: updated; WARNING: expires on ${dateOf(hello().expires_at)}, in 5 days; write a new secret to secret/harbor-robots/apps/hello`);

      hello().expires_at = now - DAY;
      const expired = await run();
      expect(expired.status).toBe(1);
      expect(expired.stderr).toBe(
        `harbor-setup: robot push-hello expired on ${dateOf(now - DAY)}: the app's builds cannot push; write a new secret to secret/harbor-robots/apps/hello (README runbook: rotate an app's Harbor robot) and sync Harbor\n`,
      );
      // Never renewed with the old secret: the same robot, still expired.
      expect(fake.robots.filter((r) => r.name === 'robot$push-hello')).toHaveLength(1);

      // The operator writes a new secret (version 2): the robot is made again, with a fresh lifetime.
      const oldId = hello().id;
      fake.state.now = now;
      writeFileSync(join(dir, 'push-hello'), JSON.stringify({ version: 2, password: 'Push-Hello-2' }));
      const rotated = await run();
      expect(rotated.stderr).toBe('');
      expect(rotated.status).toBe(0);
      expect(rotated.stdout).toContain('robot push-hello: deleted (Vault holds version 2, the robot was made from 1)\n');
      expect(hello().id).not.toBe(oldId);
      expect(hello().secret).toBe('Push-Hello-2');
      expect(hello().expires_at).toBe(now + 90 * DAY);
      expect(hello().description).toMatch(/\[vault version 2\]$/);
    });
  }, 60_000);

  it('fails when a robot is granted every project (*): an app robot pushes to its own project only', async () => {
    await withFakeHarbor(async (fake, dir, run) => {
      const local = setupFolder(dir);
      local.appRobots[0]!.permissions[0]!.project = '*';
      writeFileSync(join(dir, 'harbor.json'), JSON.stringify(local));
      const result = await run();
      expect(result.status).toBe(1);
      expect(result.stderr).toBe('harbor-setup: robot push-hello: a grant on every project (*) is refused; name the projects\n');
      expect(fake.robots.map((r) => r.name)).toEqual(['robot$cluster-pull']);
    });
  }, 60_000);

  it('fails when local users keep Harbor from switching to GitLab sign-in, naming the runbook', async () => {
    await withFakeHarbor(async (fake, dir, run) => {
      setupFolder(dir);
      fake.state.localUsers = 1;
      const result = await run();
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        "harbor-setup: the auth mode is 'db_auth' and Harbor refuses to change it while local users other than admin exist; delete them (README runbook: Harbor sign-in through GitLab) and sync Harbor again\n",
      );
      expect(fake.state.configurations.auth_mode).toBe('db_auth');
    });
  }, 60_000);
});
