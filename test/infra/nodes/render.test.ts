import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { K3S_VERSION } from '../../../config/versions';
import { renderNodes } from '../../../infra/nodes/render';
import { NODE_LABEL } from '../../../charts/lib/placement';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';

const files = renderNodes(loadDefaultPlatform());
const config = (node: string) => parse(files.get(`nodes/${node}/config.yaml`)!);

describe('the k3s node configs', () => {
  it('renders one config per node', () => {
    expect([...files.keys()]).toEqual(['nodes/k3s-master/config.yaml', 'nodes/k3s-worker-01/config.yaml', 'nodes/k3s-worker-02/config.yaml']);
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
      disable: ['traefik', 'servicelb'],
      'secrets-encryption': true,
      'write-kubeconfig-mode': '0600',
    });
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
    for (const text of files.values()) {
      expect(text).not.toMatch(/^token:/m);
      expect(text).toContain(`INSTALL_K3S_VERSION=${K3S_VERSION}`);
    }
  });

  it('labels every node a service is placed on, with the label the workloads select', () => {
    const labels = new Set([...files.values()].flatMap((text) => (parse(text) as { 'node-label': string[] })['node-label']));
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

  it('keeps the README runbook on the pinned k3s release', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const versions = [...readme.matchAll(/INSTALL_K3S_VERSION=(\S+)/g)].map((m) => m[1]);
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([K3S_VERSION]));
  });
});
