import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KubeObject } from '../../../charts/lib/service';
import { agentPodTemplates, harborPushConsumer, Jenkins, jenkinsCasc, jenkinsSsoOf, JENKINS_CONSUMER, pluginsTxt, type JenkinsProps } from '../../../charts/build/jenkins';
import { oidcRedirectUris } from '../../../charts/lib/sso';
import { dnsAccess, exposedThroughIngress } from '../../../charts/lib/network';
import { jenkinsProps } from '../../../charts/catalogue';
import { JENKINS, KANIKO_AGENT, buildAgentName, pipelinePath } from '../../../charts/build/names';
import { appPushRobot } from '../../../config/harbor-robots';
import { secretPath } from '../../../charts/lib/vault';
import { BUILDS_NAMESPACE, DEPLOY_AGENT } from '../../../charts/lib/delivery';
import { VAULT_AUDIENCE as VAULT_TOKEN_AUDIENCE, VAULT_TOKEN_EXPIRATION_SECONDS } from '../../../charts/lib/vault';
import { declaredExceptions } from '../../../policy/exceptions';
import { renderPlatform } from '../../../cli/render';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform, type Platform } from '../../../config';
import { JENKINS_HOME_GIB } from '../../../config/capacity';
import { IMAGES, JENKINS_PLUGINS } from '../../../config/versions';
import { applyPatch } from '../../support/patch';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';
import { NetworkPolicyEvaluator, type Endpoint, type Pod } from '../../support/network-evaluator';
import { violationsOf } from '../../policy/fixtures';
import { mayRead, parseHcl, type PolicyJson } from '../../support/vault';
import { hasCommand, requireValidator } from '../../support/validators';

const platform = loadDefaultPlatform();
/** The seed app's build pod template (and Jenkins label). */
const HELLO_BUILD = buildAgentName('hello');
/** Jenkins' props from a model, as the catalogue maps them (the plan only shapes NetworkPolicies). */
const propsOf = (model: Platform) => jenkinsProps(model, { connections: [] });
const objects = () => kubeObjects(defaultRender());
const find = (kind: string, namespace: string, name: string) =>
  objects().find(({ object }) => object.kind === kind && object.metadata.namespace === namespace && object.metadata.name === name)?.object as any;
const statefulSet = () => find('StatefulSet', 'jenkins', 'jenkins');
const casc = () => parse(find('ConfigMap', 'jenkins', 'jenkins-config').data['jenkins.yaml']);
const templates = () => casc().jenkins.clouds[0].kubernetes.templates as { name: string; namespace: string; label: string; yaml: string }[];
const templatePod = (name: string) => parse(templates().find((t) => t.name === name)!.yaml);

/** A pod template as the Job it amounts to (a pod that runs once), in the builds namespace. */
function asJob(name: string, pod: any): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: BUILDS_NAMESPACE, labels: pod.metadata.labels, annotations: pod.metadata.annotations },
    spec: { ttlSecondsAfterFinished: 600, template: { metadata: { labels: pod.metadata.labels, annotations: pod.metadata.annotations }, spec: pod.spec } },
  };
}

/** Small props: one app, one environment, hosts of a test domain. */
const PROPS: JenkinsProps = {
  host: 'ci.example.test',
  gitlabHost: 'git.example.test',
  registryHost: 'registry.example.test',
  ingressAddress: '10.0.0.10',
  vaultTlsServerName: 'vault.example.test',
  domain: 'example.test',
  adminEmail: 'ops@example.test',
  git: { repoURL: 'https://git.example.test/platform/platform.git', targetRevision: 'main' },
  jobs: [{ app: 'shop', repository: 'apps/shop', environments: ['qa'] }],
  pushRobots: [appPushRobot('shop', 'shop/web', 90)],
  node: 'node-a',
  issuer: 'letsencrypt-prod',
  plan: { connections: [dnsAccess(JENKINS), exposedThroughIngress(JENKINS, 'http')] },
};

function synthJenkins(props: Partial<JenkinsProps> = {}): any[] {
  const chart = Testing.chart();
  new Jenkins(chart, 'jenkins', { ...PROPS, ...props });
  return Testing.synth(chart);
}

describe('Jenkins on its own', () => {
  const of = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('GIVEN a node WHEN rendered THEN the controller runs the pinned image there, with JENKINS_HOME on its own ceph-rbd claim behind a headless Service', () => {
    const objects = synthJenkins();
    const spec = of(objects, 'StatefulSet', 'jenkins').spec;
    expect(spec.template.spec.containers.map((c: any) => c.image)).toEqual([IMAGES.jenkins]);
    expect(spec.template.spec.initContainers.map((c: any) => c.image)).toEqual([IMAGES.jenkins]);
    expect(spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: `${JENKINS_HOME_GIB}Gi` } } });
    expect(spec.serviceName).toBe('jenkins-headless');
    // Kubernetes forbids changing a live StatefulSet's volumeClaimTemplates: the claim stays unlabelled, as it went live.
    expect(spec.volumeClaimTemplates.map((t: any) => t.metadata)).toEqual([{ name: 'jenkins-home' }]);
    expect(of(objects, 'Service', 'jenkins-headless').spec.clusterIP).toBe('None');
    expect(of(objects, 'Service', 'jenkins').spec).toEqual({ type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'jenkins' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] });
  });

  it("GIVEN GitLab's host and the ingress address WHEN rendered THEN the controller reaches GitLab through the ingress controller", () => {
    const pod = of(synthJenkins(), 'StatefulSet', 'jenkins').spec.template.spec;
    expect(pod.hostAliases).toEqual([{ ip: '10.0.0.10', hostnames: ['git.example.test'] }]);
  });

  it('GIVEN a host and an issuer WHEN rendered THEN the Ingress serves the host with TLS from that issuer, and the JCasC names the host as its URL', () => {
    const objects = synthJenkins({ host: 'jenkins.example.test', issuer: 'letsencrypt-staging' });
    const ingress = of(objects, 'Ingress', 'jenkins');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-staging' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['jenkins.example.test'], secretName: 'jenkins-tls' }]);
    // The ClusterIP Service, not the StatefulSet's headless governing one.
    const backends = ingress.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => p.backend.service));
    expect(backends).toEqual([{ name: 'jenkins', port: { number: of(objects, 'Service', 'jenkins').spec.ports[0].port } }]);
    expect(of(objects, 'Service', 'jenkins').spec.type).toBe('ClusterIP');
    expect(parse(of(objects, 'ConfigMap', 'jenkins-config').data['jenkins.yaml']).unclassified.location.url).toBe('https://jenkins.example.test/');
  });

  it('GIVEN one app WHEN rendered THEN the JCasC defines its one pipeline job, and a second app changes the configuration hash', () => {
    const objects = synthJenkins();
    const casc = parse(of(objects, 'ConfigMap', 'jenkins-config').data['jenkins.yaml']);
    expect(casc.jobs).toHaveLength(1);
    expect(casc.jobs[0].script).toMatch(/^pipelineJob\('shop'\) \{/);
    expect(casc.jobs[0].script).toContain("url('https://git.example.test/platform/platform.git')");
    const hash = (o: any[]) => of(o, 'StatefulSet', 'jenkins').spec.template.metadata.annotations['platform-synthesizer.io/config-hash'];
    expect(hash(synthJenkins({ jobs: [...PROPS.jobs, { app: 'cart', repository: 'apps/cart', environments: ['qa'] }] }))).not.toBe(hash(objects));
  });

  it('GIVEN any props WHEN rendered THEN every object is a valid Kubernetes object', () => {
    for (const object of synthJenkins()) expect(validateCoreObject(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
  });
});

describe('the Jenkins controller', () => {
  it('runs on the node the model assigns', () => {
    expect(statefulSet().spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': platform.services.jenkins.node });
  });

  it('installs exactly the plugins pinned in config/versions.ts, their dependencies at the minimum versions', () => {
    const init = statefulSet().spec.template.spec.initContainers[0];
    expect(init.command).toEqual(['jenkins-plugin-cli']);
    expect(init.args.join(' ')).toContain('--plugin-file /var/jenkins_config/plugins.txt --plugin-download-directory /var/jenkins_plugins --latest false');
    const plugins = find('ConfigMap', 'jenkins', 'jenkins-config').data['plugins.txt'] as string;
    expect(plugins).toBe(pluginsTxt());
    expect(plugins.trim().split('\n')).toEqual(Object.entries(JENKINS_PLUGINS).map(([name, version]) => `${name}:${version}`));
    for (const version of Object.values(JENKINS_PLUGINS)) expect(version).toMatch(/^\d[\w.-]*$/);
    // The same emptyDir: filled by the init container, read by Jenkins as JENKINS_HOME/plugins.
    const jenkinsMounts = statefulSet().spec.template.spec.containers[0].volumeMounts;
    expect(jenkinsMounts).toContainEqual({ name: 'plugins', mountPath: '/var/jenkins_home/plugins' });
    expect(init.volumeMounts).toContainEqual({ name: 'plugins', mountPath: '/var/jenkins_plugins' });
    expect(statefulSet().spec.template.spec.volumes).toContainEqual({ name: 'plugins', emptyDir: { sizeLimit: '2Gi' } });
  });

  it('restarts when its configuration changes, and only then', () => {
    const hash = (p: typeof platform) =>
      (renderPlatform(p).get('k8s/platform/jenkins/statefulset-jenkins.yaml')!.match(/config-hash: (\w+)/) ?? [])[1];
    const withTag = validatePlatform(applyPatch(platform, { apps: { hello: { environments: { dev: { tag: 'a1b2c3' } } } } }));
    const withApp = validatePlatform(applyPatch(platform, { apps: { hello: { repository: 'apps/hello-world' } } }));
    expect(hash(withTag)).toBe(hash(platform));
    expect(hash(withApp)).not.toBe(hash(platform));
  });

  it('is restricted, non-root and probes login for readiness, the port for liveness', () => {
    const pod = statefulSet().spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.containers, ...pod.initContainers]) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
    const [controller] = pod.containers;
    expect(controller.readinessProbe.httpGet).toEqual({ path: '/login', port: 'http' });
    expect(controller.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(controller.startupProbe.failureThreshold * controller.startupProbe.periodSeconds).toBe(600);
  });

  it('serves ci.<domain> through a TLS Ingress with the production issuer', () => {
    const ingress = find('Ingress', 'jenkins', 'jenkins');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['ci.lumetium.com'], secretName: 'jenkins-tls' }]);
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'jenkins', port: { number: 8080 } });
  });

  it('reads its credentials from files the Vault agent writes, never from Git', () => {
    const template = statefulSet().spec.template;
    expect(template.metadata.annotations['vault.hashicorp.com/role']).toBe('jenkins');
    expect(template.metadata.annotations['vault.hashicorp.com/secret-volume-path']).toBe('/run/secrets');
    expect(template.metadata.annotations['vault.hashicorp.com/agent-service-account-token-volume-name']).toBe('vault-token');
    expect(template.spec.volumes).toContainEqual({
      name: 'vault-token',
      projected: { sources: [{ serviceAccountToken: { audience: VAULT_TOKEN_AUDIENCE, expirationSeconds: VAULT_TOKEN_EXPIRATION_SECONDS, path: 'token' } }] },
    });
    // Every ${variable} JCasC resolves is a file the agent renders, and every such file is used.
    const text = find('ConfigMap', 'jenkins', 'jenkins-config').data['jenkins.yaml'] as string;
    const variables = [...new Set([...text.matchAll(/(?<!\^)\$\{([a-z0-9-]+)\}/g)].map((m) => m[1]))].sort();
    expect(variables).toEqual(JENKINS_CONSUMER.secrets.map((s) => s.name).sort());
    for (const secret of JENKINS_CONSUMER.secrets) {
      // The OIDC client lives at the SSO contract's path (charts/lib/sso.ts), one key per file.
      const [path, key] = secret.name.startsWith('oidc-client-') ? ['secret/data/sso/jenkins', secret.keys[0]] : [`secret/data/jenkins/${secret.name}`, 'value'];
      expect(template.metadata.annotations[`vault.hashicorp.com/agent-inject-secret-${secret.name}`]).toBe(path);
      // The bare value: JCasC reads the file whole.
      expect(secret.template).toBe(`{{- with secret "${path}" -}}{{ index .Data.data "${key}" }}{{- end }}`);
    }
    expect(Jenkins.registration.secretConsumers!(platform).map((c) => `${c.name} ${c.namespace}/${c.serviceAccount}`)).toEqual(['jenkins jenkins/jenkins', 'kaniko-hello builds/kaniko-hello']);
  });

  // The Role's rules and the builds namespace itself: test/charts/build/builds.test.ts. A model
  // without Jenkins' host: test/config/schema.test.ts.
  it('is bound to a Role in the builds namespace only, and to nothing cluster-wide, in the whole render', () => {
    const bindingsOfJenkins = objects().filter(({ object }) =>
      ['RoleBinding', 'ClusterRoleBinding'].includes(object.kind) && ((object.subjects as { name: string; namespace: string }[]) ?? []).some((s) => s.name === 'jenkins' && s.namespace === 'jenkins'),
    );
    expect(bindingsOfJenkins.map(({ object }) => `${object.kind}/${object.metadata.namespace}`)).toEqual(['RoleBinding/builds']);
  });
});

describe('Configuration as Code', () => {
  it('connects to GitLab and defines one pipeline job per app, triggered by pushes to main', () => {
    const config = casc();
    expect(config.unclassified.gitLabConnectionConfig.connections).toEqual([
      { name: 'gitlab', url: 'https://git.lumetium.com', apiTokenId: 'gitlab-api-token', clientBuilderId: 'autodetect', connectionTimeout: 10, readTimeout: 10, ignoreCertificateErrors: false },
    ]);
    expect(config.unclassified.location.url).toBe('https://ci.lumetium.com/');
    expect(config.jobs).toHaveLength(Object.keys(platform.apps).length);
    const script = config.jobs[0].script as string;
    expect(script).toMatch(/^pipelineJob\('hello'\) \{/);
    expect(script).toContain("includeBranchesSpec('main')");
    expect(script).toContain("secretToken('${gitlab-webhook-token}')");
    expect(script).toContain("url('https://git.lumetium.com/platform/platform.git')");
    expect(script).toContain("branch('*/main')");
    // The job loads the Jenkinsfile this render writes.
    const scriptPath = /scriptPath\('([^']+)'\)/.exec(script)![1];
    expect(scriptPath).toBe(pipelinePath('hello'));
    expect(defaultRender().has(scriptPath.replace(/^dist\//, ''))).toBe(true);
    // Balanced Job DSL (no Groovy parser here: at least the braces and parentheses pair up).
    expect(script.split('{').length).toBe(script.split('}').length);
    expect(script.split('(').length).toBe(script.split(')').length);
  });

  it('has no executors on the controller, no TCP agent port, and no anonymous access', () => {
    const { jenkins: root } = casc();
    expect(root.numExecutors).toBe(0);
    expect(root.slaveAgentPort).toBe(-1);
    // Permissions only by GitLab group: nothing for anonymous or for any signed-in user.
    const entries = root.authorizationStrategy.globalMatrix.entries as any[];
    expect(entries.map((e) => Object.keys(e)[0])).toEqual(['group', 'group']);
    expect(JSON.stringify(entries)).not.toMatch(/anonymous|authenticated/);
    // Without single sign-on (a model without it), the local admin and signed-in users only.
    const local = (jenkinsCasc({ ...PROPS, sso: undefined }) as any).jenkins;
    expect(local.authorizationStrategy).toEqual({ loggedInUsersCanDoAnything: { allowAnonymousRead: false } });
    expect(local.securityRealm.local.allowsSignup).toBe(false);
  });

  describe('GIVEN sign-in through GitLab', () => {
    const sso = { issuer: 'https://git.example.test', adminGroup: 'ops/admins', viewerGroup: 'ops/viewers' };
    const root = () => (jenkinsCasc({ ...PROPS, sso }) as any).jenkins;

    it('THEN the OIDC realm discovers GitLab, takes the user and direct groups from its ID token, with PKCE', () => {
      const oic = root().securityRealm.oic;
      expect(oic.serverConfiguration.wellKnown.wellKnownOpenIDConfigurationUrl).toBe('https://git.example.test/.well-known/openid-configuration');
      expect(oic).toMatchObject({ clientId: '${oidc-client-id}', clientSecret: '${oidc-client-secret}', userNameField: 'preferred_username', groupsFieldName: 'groups_direct' });
      expect(oic.serverConfiguration.wellKnown.scopesOverride).toBe('openid profile email');
      expect(oic.properties).toContain('pkce');
      // The model's groups (`sso`) through the catalogue.
      expect(jenkinsSsoOf(platform)).toMatchObject({ adminGroup: platform.sso.adminGroup, viewerGroup: platform.sso.viewerGroup });
    });

    it('THEN the admin group administers, the viewer group reads, and the break-glass login belongs to the admin group with the Vault password', () => {
      expect(root().authorizationStrategy.globalMatrix.entries).toEqual([
        { group: { name: 'ops/admins', permissions: ['Overall/Administer'] } },
        { group: { name: 'ops/viewers', permissions: ['Overall/Read', 'Job/Read'] } },
      ]);
      const hatch = root().securityRealm.oic.properties.find((p: any) => p.escapeHatch).escapeHatch;
      expect(hatch).toEqual({ username: 'break-glass', secret: '${admin-password}', group: 'ops/admins' });
    });

    it('THEN the redirect URI registered in GitLab is the finishLogin page under the root URL Jenkins is served on', () => {
      // oic-auth builds `<root URL>securityRealm/finishLogin` from the configured root URL
      // (OicSecurityRealm.buildOAuthRedirectUrl, 4.715.vf202e4229f61); GitLab's application
      // registers charts/lib/sso.ts's URI: both must be the same, on the host of the Ingress.
      const rendered = synthJenkins({ sso });
      const ingressHost = rendered.find((o) => o.kind === 'Ingress').spec.rules[0].host;
      const rootUrl = parse(rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'jenkins-config').data['jenkins.yaml']).unclassified.location.url;
      expect(oidcRedirectUris('jenkins', ingressHost)).toEqual([`${rootUrl}securityRealm/finishLogin`]);
      expect(oidcRedirectUris('jenkins', platform.services.jenkins.host!)).toEqual([`${casc().unclassified.location.url}securityRealm/finishLogin`]);
    });
  });

  it('runs the build pods in the builds namespace, connecting back over WebSocket', () => {
    const cloud = casc().jenkins.clouds[0].kubernetes;
    expect(cloud).toMatchObject({ name: 'kubernetes', namespace: BUILDS_NAMESPACE, webSocket: true, jenkinsUrl: 'http://jenkins.jenkins.svc.cluster.local:8080/' });
    expect(templates().map((t) => [t.name, t.label, t.namespace])).toEqual([
      [HELLO_BUILD, HELLO_BUILD, BUILDS_NAMESPACE],
      [DEPLOY_AGENT.name, DEPLOY_AGENT.name, BUILDS_NAMESPACE],
    ]);
  });
});

describe('the Kaniko build pod', () => {
  const pod = () => templatePod(HELLO_BUILD);
  const kaniko = () => pod().spec.containers.find((c: any) => c.name === 'kaniko');

  it('runs the pinned Kaniko image of the model, or the pinned default', () => {
    expect(kaniko().image).toBe(IMAGES.kaniko);
    expect(IMAGES.kaniko).toMatch(/^ghcr\.io\/osscontainertools\/kaniko:v\d+\.\d+\.\d+-debug$/);
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const singleKaniko = parse((jenkinsCasc(propsOf(single)) as any).jenkins.clouds[0].kubernetes.templates[0].yaml).spec.containers.find((c: any) => c.name === 'kaniko');
    expect(singleKaniko.image).toBe('ghcr.io/osscontainertools/kaniko:v1.28.4-debug');
  });

  it('is never privileged, mounts nothing of the host, shares no host namespace and keeps seccomp', () => {
    const spec = pod().spec;
    expect(JSON.stringify(spec)).not.toMatch(/hostPath|docker\.sock|hostNetwork|hostPID|hostIPC|privileged":true/);
    expect(kaniko().securityContext).toEqual({
      runAsUser: 0,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['NET_RAW'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
    // One uid for every container that runs Jenkins steps besides Kaniko: they write into the
    // control folder the jnlp container creates in the workspace.
    const uids: Record<string, number> = { jnlp: 1000, tools: 1000, crane: 1000 };
    expect(spec.containers.map((c: any) => c.name)).toEqual(['jnlp', 'kaniko', 'crane', 'tools']);
    for (const c of spec.containers.filter((c: any) => c.name !== 'kaniko')) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: uids[c.name], runAsGroup: uids[c.name] });
    }
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.restartPolicy).toBe('Never');
  });

  it('gets the registry credentials from Vault as /run/registry/config.json, in the containers that push or scan, never in Kaniko', () => {
    const annotations = pod().metadata.annotations;
    expect(annotations).toMatchObject({
      'vault.hashicorp.com/role': 'kaniko-hello',
      'vault.hashicorp.com/agent-inject-secret-registry': 'secret/data/harbor-robots/apps/hello',
      'vault.hashicorp.com/secret-volume-path-registry': '/run/registry',
      'vault.hashicorp.com/agent-inject-file-registry': 'config.json',
      'vault.hashicorp.com/agent-inject-containers': 'crane,tools',
      'vault.hashicorp.com/agent-pre-populate-only': 'true',
    });
    expect(annotations['vault.hashicorp.com/agent-inject-template-registry']).toBe(
      '{{- with secret "secret/data/harbor-robots/apps/hello" -}}{"auths":{"registry.lumetium.com":{"auth":"{{ printf "%s:%s" .Data.data.username .Data.data.password | base64Encode }}"}}}{{- end -}}',
    );
    expect(harborPushConsumer(platform.services.harbor.host!, appPushRobot('hello', 'apps/hello', 90)).secrets.map((s) => s.keys)).toEqual([['username', 'password']]);
    // The injector mounts the secret volume into the listed containers only (agent-inject-containers):
    // every one of them exists, and Kaniko, which runs the app's Dockerfile steps, is not one.
    const names = pod().spec.containers.map((c: any) => c.name);
    const mounted = annotations['vault.hashicorp.com/agent-inject-containers'].split(',');
    for (const name of mounted) expect(names).toContain(name);
    expect(mounted).not.toContain('kaniko');
    expect(JSON.stringify(kaniko())).not.toMatch(/registry|\.docker|vault/);
    const crane = pod().spec.containers.find((c: any) => c.name === 'crane');
    expect(crane.env).toContainEqual({ name: 'DOCKER_CONFIG', value: '/run/registry' });
    expect(crane.image).toBe(IMAGES.crane);
    // No credential is an environment variable of any container.
    for (const c of pod().spec.containers) expect(JSON.stringify(c.env ?? [])).not.toMatch(/password|token|auth/i);
  });

  it('reaches GitLab and Harbor through the ingress controller, not through Cloudflare', () => {
    expect(pod().spec.hostAliases).toEqual([{ ip: '192.168.10.240', hostnames: ['git.lumetium.com', 'registry.lumetium.com'] }]);
    expect(templatePod(DEPLOY_AGENT.name).spec.hostAliases).toEqual([{ ip: '192.168.10.240', hostnames: ['git.lumetium.com'] }]);
  });

  it('declares exactly the exceptions Kaniko needs, and the policy engine grants them', () => {
    const job = asJob(KANIKO_AGENT.name, pod());
    const granted = declaredExceptions([{ path: 'x', object: job }]).map((e) => `${e.rule} ${e.component}`);
    expect(granted).toEqual([
      'K8S-SEC-04 Kaniko build pod (Jenkins agent)',
      'K8S-SEC-05 Kaniko build pod (Jenkins agent)',
      'K8S-SEC-07 Kaniko build pod (Jenkins agent)',
    ]);
  });
});

describe('GIVEN two apps WHEN the build pod templates are rendered', () => {
  const props: JenkinsProps = {
    ...PROPS,
    jobs: [...PROPS.jobs, { app: 'blog', repository: 'apps/blog', environments: ['qa'] }],
    pushRobots: [appPushRobot('shop', 'shop/web', 90), appPushRobot('blog', 'blog/site', 90)],
  };
  const pods = agentPodTemplates(props) as Record<string, any>;
  const vaultPaths = (pod: any) =>
    Object.entries(pod.metadata.annotations as Record<string, string>)
      .filter(([key]) => key.startsWith('vault.hashicorp.com/agent-inject-secret-') || key.startsWith('vault.hashicorp.com/agent-inject-template-'))
      .map(([, value]) => value);

  it('THEN each app has its own template, ServiceAccount and Vault role, and mounts only its own robot', () => {
    expect(Object.keys(pods)).toEqual(['kaniko-shop', 'kaniko-blog', DEPLOY_AGENT.name]);
    for (const [app, other] of [['shop', 'blog'], ['blog', 'shop']] as const) {
      const pod = pods[buildAgentName(app)];
      expect(pod.spec.serviceAccountName).toBe(`kaniko-${app}`);
      expect(pod.metadata.annotations['vault.hashicorp.com/role']).toBe(`kaniko-${app}`);
      const paths = vaultPaths(pod);
      expect(paths.some((p) => p.includes(`harbor-robots/apps/${app}`))).toBe(true);
      expect(paths.some((p) => p.includes(`harbor-robots/apps/${other}`)), `${app} must not name ${other}'s robot`).toBe(false);
      // The pods keep the label the NetworkPolicies select.
      expect(pod.metadata.labels['app.kubernetes.io/name']).toBe(KANIKO_AGENT.name);
    }
  });

  it('THEN the Vault role of one app reads only that app\'s robot entry (the policy the Vault service renders)', () => {
    const model = validatePlatform(
      applyPatch(platform, {
        harbor: { projects: [{ name: 'apps', public: false }] },
        apps: { blog: { ...platform.apps.hello, image: 'blog/site', repository: 'apps/blog', environments: Object.fromEntries(Object.entries(platform.apps.hello!.environments).map(([env, e]) => [env, { ...e, host: `blog-${env}.${platform.domain}` }])) } },
      }),
    );
    const consumers = Jenkins.registration.secretConsumers!(model).filter((c) => c.namespace === BUILDS_NAMESPACE);
    expect(consumers.map((c) => [c.name, c.serviceAccount, c.secrets.map((s) => secretPath(c, s))])).toEqual([
      ['kaniko-hello', 'kaniko-hello', ['secret/data/harbor-robots/apps/hello']],
      ['kaniko-blog', 'kaniko-blog', ['secret/data/harbor-robots/apps/blog']],
    ]);
    // The policies Vault gets, as its HCL parser reads them and its path matching applies them.
    if (!requireValidator('hcltool', hasCommand('hcltool'), 'apt-get install python3-pyhcl')) return;
    const vaultConfig = parse(renderPlatform(model).get('k8s/platform/vault/configmap-vault-config.yaml')!).data as Record<string, string>;
    const policy = (app: string) => parseHcl(vaultConfig[`policy-platform-kaniko-${app}.hcl`]!) as unknown as PolicyJson;
    for (const [app, other] of [['hello', 'blog'], ['blog', 'hello']] as const) {
      expect(mayRead(policy(app), `secret/data/harbor-robots/apps/${app}`), app).toBe(true);
      expect(mayRead(policy(app), `secret/data/harbor-robots/apps/${other}`), `${app} reads ${other}'s robot`).toBe(false);
    }
  });
});

describe('the build pods under the policy engine', () => {
  // The build pods are created by Jenkins at run time; checked here as the Jobs they amount to,
  // with the rendered builds namespace, service accounts, NetworkPolicies and the apps' Roles.
  const rendered = () =>
    objects()
      .filter(({ path }) => path.startsWith('k8s/platform/builds/') || /^k8s\/platform\/hello-[a-z]+-namespace\/rolebinding-/.test(path) || /^k8s\/platform\/hello-[a-z]+-namespace\/role-/.test(path))
      .map(({ object }) => object);
  const violationsOfPods = (pods: KubeObject[]) => violationsOf([...rendered(), ...pods]).filter((v) => / (Job|Pod)\/builds\//.test(v));

  it('pass every rule, Kaniko with its granted exceptions', () => {
    expect(violationsOfPods(Object.entries(agentPodTemplates(propsOf(platform))).map(([name, pod]) => asJob(name, pod)))).toEqual([]);
  });

  it('would fail if Kaniko were privileged or mounted the docker socket (the check is not a no-op)', () => {
    const pod = structuredClone(agentPodTemplates(propsOf(platform))[HELLO_BUILD]) as any;
    pod.spec.containers[1].securityContext.privileged = true;
    pod.spec.volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
    expect(violationsOfPods([asJob(KANIKO_AGENT.name, pod)])).toEqual([
      'K8S-SEC-02  Job/builds/kaniko  container kaniko is privileged; remove securityContext.privileged',
      'K8S-SEC-08  Job/builds/kaniko  volume docker mounts the container runtime socket /var/run/docker.sock; never do this (it is root on the node)',
      'POLICY-EXC-02  Job/builds/kaniko  exception for Kaniko build pod (Jenkins agent) is broader than upstream needs: container kaniko is privileged',
      'POLICY-EXC-02  Job/builds/kaniko  exception for Kaniko build pod (Jenkins agent) is broader than upstream needs: mounts a hostPath; Kaniko needs none (never the docker socket)',
    ]);
  });

  describe('GIVEN delivery.userNamespaces (nodes with Linux 6.3 or newer)', () => {
    const withUserNamespaces = () => validatePlatform(applyPatch(platform, { delivery: { userNamespaces: true } }));

    it('WHEN rendered THEN the build pod runs in its own user namespace (Kaniko\'s root is no root of the node), the deploy pod as before', () => {
      const pods = agentPodTemplates(propsOf(withUserNamespaces())) as Record<string, any>;
      expect(pods[HELLO_BUILD].spec.hostUsers).toBe(false);
      expect(pods[DEPLOY_AGENT.name].spec.hostUsers).toBeUndefined();
      // Through JCasC, where Jenkins reads it.
      const casc = jenkinsCasc(propsOf(withUserNamespaces())) as any;
      expect(parse(casc.jenkins.clouds[0].kubernetes.templates[0].yaml).spec.hostUsers).toBe(false);
      expect(validateCoreObject({ ...pods[HELLO_BUILD], metadata: { ...pods[HELLO_BUILD].metadata, name: 'kaniko', namespace: BUILDS_NAMESPACE } })).toBeUndefined();
      expect(violationsOfPods(Object.entries(pods).map(([name, pod]) => asJob(name, pod)))).toEqual([]);
    });

    it('WHEN absent (the seed: Debian 12 ships Linux 6.1) THEN the pod shares the node\'s user namespace, which a pod on such a kernel needs to start', () => {
      expect((agentPodTemplates(propsOf(platform))[HELLO_BUILD] as any).spec).not.toHaveProperty('hostUsers');
      expect(platform.delivery?.userNamespaces).toBeUndefined();
    });

    it('fails when delivery.userNamespaces is not a boolean', () => {
      expect(() => validatePlatform(applyPatch(platform, { delivery: { userNamespaces: 'yes' } }))).toThrow('delivery.userNamespaces: "yes": must be a boolean, not a string');
    });
  });

  it('are valid Pod specifications', async () => {
    for (const [name, pod] of Object.entries(agentPodTemplates(propsOf(platform)))) {
      expect(validateCoreObject({ ...(pod as KubeObject), metadata: { ...(pod as any).metadata, name, namespace: BUILDS_NAMESPACE } }), name).toBeUndefined();
    }
  });
});

describe('network isolation of Jenkins and the build pods', () => {
  const evaluator = new NetworkPolicyEvaluator(objects().map(({ object }) => object));
  let ip = 0;
  const pod = (namespace: string, name: string): Endpoint => ({ pod: { namespace, labels: { 'app.kubernetes.io/name': name }, ip: `10.42.9.${++ip}` } as Pod });
  const jenkinsPod = pod(JENKINS.namespace, JENKINS.name);
  const kanikoPod = pod(BUILDS_NAMESPACE, KANIKO_AGENT.name);
  const deployPod = pod(BUILDS_NAMESPACE, DEPLOY_AGENT.name);
  const ingress = pod('nginx-ingress', 'nginx-ingress');
  const app = pod('hello-dev', 'hello');
  const vault = pod('vault', 'vault');
  const intruder = pod(BUILDS_NAMESPACE, 'intruder');

  it('lets the build pods reach what a build needs and nothing else', () => {
    const allowed: [string, Endpoint, Endpoint, number][] = [
      ['agent -> controller (WebSocket)', kanikoPod, jenkinsPod, 8080],
      ['push to Harbor through the ingress controller', kanikoPod, ingress, 443],
      ['base images from the internet', kanikoPod, { ip: '34.120.1.1' }, 443],
      ['registry credentials from Vault', kanikoPod, vault, 8200],
      ['smoke tests of the app', deployPod, app, 8080],
      ['rollout wait through the Kubernetes API', deployPod, { ip: '10.43.0.1' }, 443],
      ['the ingress controller serves the UI and the webhooks', ingress, jenkinsPod, 8080],
    ];
    for (const [why, from, to, port] of allowed) expect(evaluator.allows({ from, to, port }), why).toBe(true);
    const denied: [string, Endpoint, Endpoint, number][] = [
      ['a build cannot call the app', kanikoPod, app, 8080],
      ['a build cannot reach the LAN', kanikoPod, { ip: '192.168.10.21' }, 6789],
      ['a build speaks no plain HTTP to the internet', kanikoPod, { ip: '34.120.1.1' }, 80],
      ['nothing reaches a build pod', jenkinsPod, kanikoPod, 8080],
      ['an unknown pod in builds reaches nothing', intruder, jenkinsPod, 8080],
      ['the controller cannot call the app', jenkinsPod, app, 8080],
      ['the deploy pod cannot read Vault', deployPod, vault, 8200],
      ['the internet cannot reach Jenkins around the ingress controller', { ip: '34.120.1.1' }, jenkinsPod, 8080],
    ];
    for (const [why, from, to, port] of denied) expect(evaluator.allows({ from, to, port }), why).toBe(false);
  });
});

