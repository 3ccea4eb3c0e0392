/**
 * The ingress controller as the gateway and the cluster reach it (decision 0069): a controller on
 * every node behind `externalTrafficPolicy: Local`, so the subnet router always has a local
 * endpoint; plain 80/443 for every in-cluster and mesh client; the gateway port that alone
 * requires the PROXY protocol, trusts it from the gateway only and restores the visitor's address
 * from CF-Connecting-IP; and the same port on both sides (HAProxy, Service, NetworkPolicy).
 */
import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { GATEWAY_PORT_NAME, NginxIngress } from '../../../charts/core/nginx-ingress';
import { INGRESS_CONTROLLER } from '../../../charts/lib/network';
import { INGRESS_GATEWAY_PORT } from '../../../config/gateway';
import { CLOUDFLARE_IPV4_RANGES } from '../../../config/cloudflare';
import { sectionOf } from '../../support/haproxy';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const valuesFor = (model = platform) => NginxIngress.registration.helm!(model).values as any;
const controller = valuesFor().controller;
const entries: Record<string, string> = controller.config.entries;
const streamLines = (entries['stream-snippets'] ?? '').split('\n').map((line) => line.trim().replace(/;$/, ''));

describe('the NGINX Ingress Controller', () => {
  it('GIVEN the model WHEN installed THEN the pinned chart from nginx.org serves class nginx, the only LoadBalancer, on the fixed MetalLB address, with metrics', () => {
    const helm = NginxIngress.registration.helm!(platform);
    expect({ repoURL: helm.repoURL, chart: helm.chart, version: helm.version }).toEqual(CHARTS.nginxIngress);
    expect(helm.repoURL).toBe('https://helm.nginx.com/stable');
    const values = valuesFor();
    expect(values.controller.ingressClass).toEqual({ name: 'nginx', create: true, setAsDefaultIngress: false });
    expect(values.controller.service).toMatchObject({
      type: 'LoadBalancer',
      annotations: { 'metallb.io/address-pool': 'platform', 'metallb.io/loadBalancerIPs': '192.168.10.240' },
    });
    expect(values.prometheus).toEqual({ create: true, port: 9113, scheme: 'http', service: { create: true } });
    expect(values.controller.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
  });

  it('GIVEN the restricted settings of charts/lib WHEN installed THEN the controller runs as nginx (uid 101), restricted except NET_BIND_SERVICE, and its init container adds nothing', () => {
    const { controller: c } = valuesFor();
    expect(c.podSecurityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 101,
      seccompProfile: { type: 'RuntimeDefault' },
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
    });
    expect(c.initContainerSecurityContext).toEqual({ ...c.securityContext, capabilities: { drop: ['ALL'] } });
  });

  it('GIVEN a one-node platform WHEN installed THEN it still runs one controller per node, on that model\'s ingress address', () => {
    expect(valuesFor(single).controller.kind).toBe('daemonset');
    expect(valuesFor(single).controller.service.annotations['metallb.io/loadBalancerIPs']).toBe('10.10.0.200');
  });

  it('GIVEN its registration WHEN ordered THEN it installs in wave 2, after metallb-config gives its Service an address', () => {
    expect(NginxIngress.registration.syncWave).toBe(2);
  });

  it('GIVEN its own connections as the plan WHEN rendered THEN its namespace and policies are valid against the pinned Kubernetes schemas', () => {
    const chart = Testing.chart();
    new NginxIngress(chart, 'nginx-ingress', { plan: { connections: NginxIngress.registration.connections!(platform) } });
    const objects: any[] = Testing.synth(chart);
    expect(objects.find((o) => o.kind === 'Namespace').metadata.name).toBe(INGRESS_CONTROLLER.namespace);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});

describe('the ingress controller behind the gateway', () => {
  it('runs on every node, so the subnet router has a local endpoint under externalTrafficPolicy Local', () => {
    // GIVEN the only subnet router is one node (mesh.subnetRouter) and the policy is Local,
    // THEN a controller must run on that node: a DaemonSet without node restrictions.
    expect(controller.service.externalTrafficPolicy).toBe('Local');
    expect(controller.kind).toBe('daemonset');
    expect(controller.nodeSelector).toBeUndefined();
    expect(controller.affinity).toBeUndefined();
    // A rolling update starts the node's new pod before the old one stops.
    expect(controller.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(platform.nodes[platform.mesh.subnetRouter]).toBeDefined();
  });

  it('keeps 80 and 443 plain for in-cluster and mesh clients, and adds the gateway port on the pod and the Service', () => {
    // The controller turns the PROXY protocol on for all of its HTTP servers at once: never here.
    expect(entries['proxy-protocol']).toBeUndefined();
    expect(controller.service.httpPort).toBeUndefined();
    expect(controller.service.httpsPort).toBeUndefined();
    expect(controller.customPorts).toEqual([{ name: GATEWAY_PORT_NAME, containerPort: INGRESS_GATEWAY_PORT, protocol: 'TCP' }]);
    expect(controller.service.customPorts).toEqual([{ name: GATEWAY_PORT_NAME, port: INGRESS_GATEWAY_PORT, targetPort: INGRESS_GATEWAY_PORT, protocol: 'TCP' }]);
    expect(GATEWAY_PORT_NAME.length).toBeLessThanOrEqual(15);
    expect(INGRESS_GATEWAY_PORT).not.toBe(INGRESS_CONTROLLER.ports!.https);
  });

  it('requires the PROXY header on the gateway port, believes it from the gateway only, and admits only Cloudflare and the gateway', () => {
    expect(streamLines).toContain(`listen ${INGRESS_GATEWAY_PORT} proxy_protocol`);
    expect(streamLines.filter((l) => l.startsWith('set_real_ip_from'))).toEqual([`set_real_ip_from ${platform.gateway.meshAddress}`]);
    const rules = streamLines.filter((l) => /^(allow|deny) /.test(l));
    expect(rules).toEqual([...CLOUDFLARE_IPV4_RANGES.map((r) => `allow ${r}`), `allow ${platform.gateway.meshAddress}`, 'deny all']);
    expect(streamLines).toContain(`proxy_pass 127.0.0.1:${INGRESS_CONTROLLER.ports!.https}`);
  });

  it("restores the visitor's address from CF-Connecting-IP only for connections that came through the gateway port", () => {
    expect(entries['real-ip-header']).toBe('CF-Connecting-IP');
    // Loopback is the gateway port's stream server and nothing else: pods, nodes and mesh
    // clients keep their own address and cannot claim another with the header.
    expect(entries['set-real-ip-from']).toBe('127.0.0.1');
  });

  it("is what the gateway's HAProxy targets: the gateway port, with a PROXY v2 header", () => {
    const cfg = defaultRender().get('gateway/haproxy.cfg')!;
    expect(sectionOf(cfg, 'backend ingress_https')[0]).toMatch(new RegExp(`^server ingress ${platform.cluster.ingressAddress.replace(/\./g, '\\.')}:${INGRESS_GATEWAY_PORT} send-proxy-v2 `));
  });

  it('lets only the gateway reach the gateway port; everyone reaches 80 and 443', () => {
    const evaluator = new NetworkPolicyEvaluator(kubeObjects(defaultRender()).map(({ object }) => object as any));
    const ingress: Endpoint = { pod: { namespace: INGRESS_CONTROLLER.namespace, labels: { 'app.kubernetes.io/name': INGRESS_CONTROLLER.name }, ip: '10.42.0.20' } };
    const gateway: Endpoint = { ip: platform.gateway.meshAddress };
    const pod: Endpoint = { pod: { namespace: 'builds', labels: { 'app.kubernetes.io/name': 'kaniko' }, ip: '10.42.1.30' } };
    const node: Endpoint = { ip: platform.nodes[platform.mesh.subnetRouter].meshAddress };
    const lan: Endpoint = { ip: '192.168.10.50' };
    expect(evaluator.allows({ from: gateway, to: ingress, port: INGRESS_GATEWAY_PORT })).toBe(true);
    for (const [who, from] of [['a node', node], ['a LAN host', lan], ['an unrelated address', { ip: '198.51.100.7' }]] as [string, Endpoint][]) {
      expect(evaluator.allows({ from, to: ingress, port: INGRESS_GATEWAY_PORT }), who).toBe(false);
      expect(evaluator.allows({ from, to: ingress, port: 443 }), who).toBe(true);
    }
    expect(evaluator.allows({ from: { ip: '10.42.1.30' }, to: ingress, port: INGRESS_GATEWAY_PORT }), 'a pod address').toBe(false);
    // Build pods reach the controller's plain port (their egress allows it), never the gateway port.
    expect(evaluator.allows({ from: pod, to: ingress, port: 443 })).toBe(true);
    expect(evaluator.allows({ from: pod, to: ingress, port: INGRESS_GATEWAY_PORT })).toBe(false);
  });
});
