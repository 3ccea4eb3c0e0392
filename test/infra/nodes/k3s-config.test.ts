import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { K3S_VERSION } from '../../../config/versions';
import { K3S_MANIFESTS_DIR, PULL_PASSWORD_PLACEHOLDER, renderNodes } from '../../../infra/nodes/k3s-config';
import { platformHosts } from '../../../infra/lib/hosts';
import { HARBOR_ROBOTS, robotUserName } from '../../../config/harbor-robots';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { NODE_LABEL } from '../../../config/topology';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';

const platform = loadDefaultPlatform();
const files = renderNodes(platform);
const config = (node: string) => parse(files.get(`nodes/${node}/config.yaml`)!);
/** The k3s configs only (each node also gets its registry files). */
const configs = () => [...files].filter(([path]) => path.endsWith('/config.yaml'));

describe('the k3s node configs', () => {
  it('renders one config per node', () => {
    expect(configs().map(([path]) => path)).toEqual(['nodes/k3s-master/config.yaml', 'nodes/k3s-worker-01/config.yaml', 'nodes/k3s-worker-02/config.yaml']);
    expect([...defaultRender().keys()].filter((p) => p.startsWith('nodes/'))).toEqual([...files.keys()]);
  });

  it('makes the master a server on the mesh, with Traefik and ServiceLB disabled and its TLS SANs', () => {
    expect(config('k3s-master')).toEqual({
      'node-name': 'k3s-master',
      'node-ip': '100.64.0.10',
      'node-label': [`${NODE_LABEL}=k3s-master`],
      'flannel-iface': 'tailscale0',
      'token-file': '/etc/rancher/k3s/token',
      'advertise-address': '100.64.0.10',
      'tls-san': ['k3s-master', '100.64.0.10', '192.168.10.10'],
      'cluster-cidr': '10.42.0.0/16',
      'service-cidr': '10.43.0.0/16',
      'cluster-dns': '10.43.0.10',
      disable: ['traefik', 'servicelb', 'local-storage'],
      'secrets-encryption': true,
      'write-kubeconfig-mode': '0600',
    });
  });

  it('GIVEN ceph-rbd is the default StorageClass WHEN the server config is rendered THEN k3s deploys no local-path class beside it', () => {
    const defaultClasses = kubeObjects(defaultRender())
      .map(({ object }) => object as any)
      .filter((o) => o.kind === 'StorageClass' && o.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    expect(defaultClasses.map((o) => o.metadata.name)).toEqual(['ceph-rbd']);
    for (const [path, text] of configs()) {
      const parsed = parse(text) as { disable?: string[]; server?: string };
      // Packaged components are a server option; agents follow their server.
      if (parsed.server) continue;
      expect(parsed.disable, path).toContain('local-storage');
    }
  });

  it('joins the workers as agents to the server over the mesh', () => {
    expect(config('k3s-worker-02')).toEqual({
      'node-name': 'k3s-worker-02',
      'node-ip': '100.64.0.12',
      'node-label': [`${NODE_LABEL}=k3s-worker-02`],
      'flannel-iface': 'tailscale0',
      'token-file': '/etc/rancher/k3s/token',
      server: 'https://100.64.0.10:6443',
    });
  });

  it('never inlines the token and names the pinned k3s release', () => {
    for (const [, text] of configs()) {
      expect(text).not.toMatch(/^token:/m);
      expect(text).toContain(`INSTALL_K3S_VERSION=${K3S_VERSION}`);
    }
  });

  it('labels every node a service is placed on, with the label the workloads select', () => {
    const labels = new Set(configs().map(([, text]) => text).flatMap((text) => (parse(text) as { 'node-label': string[] })['node-label']));
    const argocdValues = kubeObjects(defaultRender()).find(({ object }) => object.kind === 'Application' && object.metadata.name === 'argocd')!.object as any;
    const selector = argocdValues.spec.sources[0].helm.valuesObject.global.nodeSelector as Record<string, string>;
    for (const [key, value] of Object.entries(selector)) expect(labels.has(`${key}=${value}`)).toBe(true);
  });

  it('follows the model: a one-node platform with its own token path and extra SAN', () => {
    const single = renderNodes(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml')));
    const solo = parse(single.get('nodes/solo/config.yaml')!);
    expect(solo['token-file']).toBe('/var/lib/rancher/join-token');
    expect(solo['tls-san']).toEqual(['solo', '100.100.0.2', '10.10.0.2', 'k8s.example.net']);
  });

  describe('GIVEN Harbor\'s apps project is private and its host is served by the ingress controller', () => {
    const registry = platform.services.harbor.host!;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

    it('WHEN a node pulls an app image THEN containerd authenticates as the cluster-pull robot, with no secret in the rendered file', () => {
      const robot = HARBOR_ROBOTS.find((r) => r.name === 'cluster-pull')!;
      for (const node of Object.keys(platform.nodes)) {
        const registries = parse(files.get(`nodes/${node}/registries.yaml`)!);
        expect(registries.mirrors[registry].endpoint, node).toEqual([`https://${registry}`]);
        expect(registries.configs[registry].auth, node).toEqual({ username: robotUserName(robot), password: PULL_PASSWORD_PLACEHOLDER });
      }
      // The app Deployments name images on that host.
      const deployment = kubeObjects(defaultRender()).find(({ path }) => path === 'k8s/dev/hello/deployment-hello.yaml')!.object as any;
      expect(deployment.spec.template.spec.containers[0].image.split('/')[0]).toBe(registry);
      // The runbook fills the placeholder from the robot's Vault entry and installs the file where k3s reads it.
      const install = /sed "s\|(@[A-Z_]+@)\|\$\(vault kv get -field=password ([^)]+)\)\|" dist\/nodes\/<node>\/registries\.yaml \\\n\s+\| sudo install -m 0600 \/dev\/stdin \/etc\/rancher\/k3s\/registries\.yaml/.exec(readme);
      expect(install, 'README installs registries.yaml').not.toBeNull();
      expect(install![1]).toBe(PULL_PASSWORD_PLACEHOLDER);
      expect(install![2]).toBe(robot.vaultPath.replace('/data/', '/'));
    });

    it('WHEN a node resolves the registry THEN it reaches the ingress controller inside the cluster network, not Cloudflare', () => {
      for (const node of Object.keys(platform.nodes)) {
        const lines = files.get(`nodes/${node}/hosts`)!.split('\n').filter((line) => line && !line.startsWith('#'));
        expect(lines, node).toEqual([`${platform.cluster.ingressAddress} ${registry}`]);
      }
      expect(readme).toContain('cat dist/nodes/<node>/hosts | sudo tee -a /etc/hosts');
    });

    it('WHEN a pod resolves a host of the model, public or mesh-only THEN the cluster DNS answers with the ingress controller, Argo CD\'s repository host included', () => {
      const configMap = parse(files.get('nodes/k3s-master/manifests/coredns-custom.yaml')!);
      expect(configMap.metadata).toMatchObject({ name: 'coredns-custom', namespace: 'kube-system' });
      const server: string = configMap.data['platform.server'];
      expect(server.split('\n')[0]).toBe(`${platform.domain}:53 {`);
      const answers = new Map([...server.matchAll(/^\s+(\d+\.\d+\.\d+\.\d+) (\S+)$/gm)].map((m) => [m[2], m[1]]));
      const expected = [...platformHosts(platform).map((h) => h.host), new URL(platform.git.repoURL).hostname];
      for (const host of expected) expect(answers.get(host), host).toBe(platform.cluster.ingressAddress);
      expect(answers.has('git.lumetium.com')).toBe(true);
      // Mesh-only hosts have no public record to fall back to: builds push to a mesh-only Harbor and
      // GitLab's webhooks call a mesh-only Jenkins by these names (decision 0101).
      expect(platform.services.harbor.exposure).toBe('mesh');
      expect(answers.get(platform.services.harbor.host!)).toBe(platform.cluster.ingressAddress);
      expect(answers.get(platform.services.jenkins.host!)).toBe(platform.cluster.ingressAddress);
      // Everything else of the zone (Headscale, a new record) still resolves upstream.
      expect(server).toMatch(/fallthrough\n\s+}\n\s+forward \. \/etc\/resolv\.conf/);
      expect(answers.has(platform.mesh.headscaleHost)).toBe(false);
      // Only the server deploys it; the runbook puts it in k3s' manifests folder.
      expect([...files.keys()].filter((path) => path.endsWith('coredns-custom.yaml'))).toEqual(['nodes/k3s-master/manifests/coredns-custom.yaml']);
      expect(readme).toContain(`dist/nodes/k3s-master/manifests/coredns-custom.yaml ${K3S_MANIFESTS_DIR}/coredns-custom.yaml`);
    });

    it('WHEN Argo CD clones the platform repository by its public name THEN the NetworkPolicies let its repo server reach the ingress controller', () => {
      const evaluator = new NetworkPolicyEvaluator(kubeObjects(defaultRender()).map(({ object }) => object as any));
      const repoServer: Endpoint = { pod: { namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-repo-server' }, ip: '10.42.1.20' } };
      const ingress: Endpoint = { pod: { namespace: 'nginx-ingress', labels: { 'app.kubernetes.io/name': 'nginx-ingress' }, ip: '10.42.2.30' } };
      expect(evaluator.allows({ from: repoServer, to: ingress, port: 443 })).toBe(true);
    });
  });

  it('keeps the README runbook on the pinned k3s release', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const versions = [...readme.matchAll(/INSTALL_K3S_VERSION=(\S+)/g)].map((m) => m[1]);
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([K3S_VERSION]));
  });
});
