import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INBOUND_POLICY_ANNOTATION,
  kubeletProbeSources,
  meshPlan,
  NamespaceMeshPolicies,
  portClients,
} from '../../../charts/lib/mesh-policy';
import {
  connect,
  hosts,
  isMeshedWorkload,
  isWorkload,
  NamespacePolicies,
  proxyBypassOf,
  selectorLabelOf,
  serviceAccountOf,
  serviceAccountsOf,
  type Connection,
  type MeshPlan,
  type NetworkPlan,
  type Workload,
} from '../../../charts/lib/network';
import { PlatformNamespace } from '../../../charts/lib/namespace';
import { consumerWorkload } from '../../../charts/lib/vault';
import { INJECT_ANNOTATION, meshIdentity } from '../../../charts/lib/service-mesh';
import type { KubeObject } from '../../../charts/lib/service';
import { allServices } from '../../../charts/catalogue';
import { renderKubernetesObjects, servicePlan } from '../../../charts/synth';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { intToIpv4, parseCidr, rangeContains } from '../../../config/net';
import { MeshAuthorizationEvaluator, type MeshClient } from '../../support/mesh-authorization';
import { NetworkPolicyEvaluator } from '../../support/network-evaluator';
import { defaultKubernetesObjects, ROOT } from '../../support/render';
import { loadCrdValidators, validateObject } from '../../support/schemas';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rendered = KubeObject & { spec: any; metadata: KubeObject['metadata'] & { annotations?: Record<string, string> } };

const crds = loadCrdValidators(join(ROOT, 'imports/schemas'));

// ---- a small mesh: a shop API, its database, their clients ----
const api: Workload = { namespace: 'shop', name: 'api', ports: { http: 8080, grpc: 9000, metrics: 9090 }, meshProtocols: { grpc: 'gRPC' } };
const db: Workload = { namespace: 'shop', name: 'db', ports: { postgres: 5432 }, serviceAccount: 'database', sendsNothing: true };
const web: Workload = { namespace: 'front', name: 'web', serviceAccount: 'web-sa' };
const worker: Workload = { namespace: 'jobs', name: 'worker' };
const scraper: Workload = { namespace: 'monitoring', name: 'prometheus' };
const legacy: Workload = { namespace: 'legacy', name: 'cron' };
const hostAgent: Workload = { namespace: 'agents', name: 'probe', hostNetwork: true };
const apiServer = hosts('kubernetes api server', ['192.168.1.10']);

const mesh: MeshPlan = {
  isMeshedNamespace: (namespace) => namespace !== 'legacy',
  proxyInboundPort: 4143,
  proxyOwnPorts: [4191],
  podNetwork: { name: 'pod network', cidrs: [{ cidr: '10.42.0.0/16' }] },
  nodeNetwork: hosts('node addresses', ['192.168.1.10', '192.168.1.11']),
  kubeletNetwork: hosts('kubelet probes (node bridge addresses)', ['10.42.0.1', '10.42.1.1']),
};
const connections: Connection[] = [
  connect({ workload: web }, api, ['http'], 'storefront calls'),
  connect({ workload: worker }, api, ['grpc'], 'order events'),
  connect({ workload: scraper }, api, ['metrics'], 'metrics scrape'),
  connect({ workload: api }, db, ['postgres'], 'orders'),
  connect({ workload: legacy }, db, ['postgres'], 'nightly report'),
  connect({ network: apiServer }, api, ['http'], 'admission webhook'),
  connect({ workload: hostAgent }, api, ['metrics'], 'node agent'),
];
const plan: NetworkPlan = { connections, mesh };

function renderMesh(namespace: string, workloads: Workload[], withPlan: NetworkPlan = plan): Rendered[] {
  const chart = new Chart(Testing.app(), 'test');
  new NamespaceMeshPolicies(chart, 'mesh', { namespace, workloads, plan: withPlan });
  return Testing.synth(chart) as Rendered[];
}
const named = (objects: Rendered[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
const inCidr = (ip: string, cidr: string) => rangeContains(parseCidr(cidr)!, ip);
const identity = (w: Workload) => meshIdentity(w.namespace, serviceAccountOf(w));

describe('NamespaceMeshPolicies', () => {
  it('renders, per served port, a Server and the identities of exactly the declared meshed clients', () => {
    // GIVEN the shop's API, reached by the storefront (its own ServiceAccount), a worker and Prometheus
    // WHEN the shop's namespace renders its mesh policies
    const objects = renderMesh('shop', [api, db]);
    // THEN each port the plan reaches has its Server, selecting the API's pods by their label and the port by number
    const http = named(objects, 'Server', 'api-http');
    expect(http.apiVersion).toBe('policy.linkerd.io/v1beta3');
    expect(http.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, port: 8080, proxyProtocol: 'unknown' });
    expect(named(objects, 'Server', 'api-grpc').spec.proxyProtocol).toBe('gRPC');
    // AND PostgreSQL's port stays opaque, as Linkerd's default opaque ports would have it
    expect(named(objects, 'Server', 'db-postgres').spec.proxyProtocol).toBe('opaque');
    // AND only the declared client's identity (its ServiceAccount, not its workload name) may use the port
    expect(named(objects, 'MeshTLSAuthentication', 'api-http-meshed').spec).toEqual({
      identities: ['web-sa.front.serviceaccount.identity.linkerd.cluster.local'],
    });
    expect(named(objects, 'AuthorizationPolicy', 'api-http-meshed').spec).toEqual({
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'api-http' },
      requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name: 'api-http-meshed' }],
    });
    expect(named(objects, 'MeshTLSAuthentication', 'api-grpc-meshed').spec.identities).toEqual([identity(worker)]);
    // AND every object says which connections it serves and may wait for the CRD at dry-run
    expect(http.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
      'platform-synthesizer.io/connections': 'from front/web: storefront calls\nfrom kubernetes api server: admission webhook',
    });
  });

  it('authorizes clients without a proxy by the addresses their connections come from, with the reason', () => {
    // GIVEN the API server (a network), an unmeshed pod and a host-network pod among the clients
    const objects = renderMesh('shop', [api, db]);
    // THEN the webhook port admits the API server's address, as the NetworkPolicy does
    expect(named(objects, 'NetworkAuthentication', 'api-http-networks').spec).toEqual({ networks: [{ cidr: '192.168.1.10/32' }] });
    expect(named(objects, 'AuthorizationPolicy', 'api-http-networks').spec.requiredAuthenticationRefs).toEqual([
      { group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: 'api-http-networks' },
    ]);
    // AND an unmeshed pod can only be told by the pod network, and a host-network pod by the nodes' addresses
    const dbNetworks = named(objects, 'NetworkAuthentication', 'db-postgres-networks');
    expect(dbNetworks.spec).toEqual({ networks: [{ cidr: '10.42.0.0/16' }] });
    expect(dbNetworks.metadata.annotations!['platform-synthesizer.io/unauthenticated-clients']).toBe('legacy/cron (not meshed, by pod network): nightly report');
    expect(named(objects, 'NetworkAuthentication', 'api-metrics-networks').spec.networks).toEqual([{ cidr: '192.168.1.10/32' }, { cidr: '192.168.1.11/32' }]);
    // AND the meshed clients of the same ports still have their own identity authorization
    expect(named(objects, 'MeshTLSAuthentication', 'db-postgres-meshed').spec.identities).toEqual([identity(api)]);
    // AND two connections from one network list its addresses once and both reasons
    const twice = renderMesh('shop', [api], { connections: [...connections, connect({ network: apiServer }, api, ['http'], 'conversion webhook')], mesh });
    const httpNetworks = named(twice, 'NetworkAuthentication', 'api-http-networks');
    expect(httpNetworks.spec.networks).toEqual([{ cidr: '192.168.1.10/32' }]);
    expect(httpNetworks.metadata.annotations!['platform-synthesizer.io/unauthenticated-clients']).toBe(
      'kubernetes api server: admission webhook\nkubernetes api server: conversion webhook',
    );
  });

  it('authorizes by address the meshed clients whose traffic to a port skips their proxy', () => {
    // GIVEN the install makes clients skip their proxy towards the database's port
    const bypassing: NetworkPlan = { connections, mesh: { ...mesh, proxyBypass: [{ to: db, port: 5432, reason: 'init containers run first' }] } };
    // WHEN the shop renders its mesh policies and NetworkPolicies
    const objects = renderMesh('shop', [api, db], bypassing);
    // THEN no identity is expected on that port: the pod network is, with the reason
    expect(objects.some((o) => o.metadata.name === 'db-postgres-meshed')).toBe(false);
    expect(named(objects, 'NetworkAuthentication', 'db-postgres-networks').metadata.annotations!['platform-synthesizer.io/unauthenticated-clients']).toBe(
      'shop/api (skips its proxy: init containers run first; by pod network): orders\nlegacy/cron (not meshed, by pod network): nightly report',
    );
    // AND the API's egress to it stays on the application's port
    const chart = new Chart(Testing.app(), 'np');
    new NamespacePolicies(chart, 'p', { namespace: 'shop', workloads: [api, db], plan: bypassing });
    const allowApi = (Testing.synth(chart) as Rendered[]).find((o) => o.metadata.name === 'allow-api')!;
    expect(allowApi.spec.egress[0].ports).toEqual([{ port: 5432, protocol: 'TCP' }]);
  });

  it('renders nothing without the mesh, in an unmeshed namespace, or for a host-network workload', () => {
    expect(renderMesh('shop', [api, db], { connections })).toEqual([]);
    expect(renderMesh('legacy', [legacy])).toEqual([]);
    const nodeServer: Workload = { namespace: 'agents', name: 'probe', hostNetwork: true, ports: { metrics: 9100 } };
    expect(renderMesh('agents', [nodeServer], { connections: [connect({ workload: scraper }, nodeServer, ['metrics'], 'scrape')], mesh })).toEqual([]);
  });

  it('renders objects valid against the imported Linkerd CRD schemas', () => {
    const objects = renderMesh('shop', [api, db]);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(validateObject(object, crds), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('names the Server of the proxy\'s admin port, which a scrape connection may reach by number', () => {
    // GIVEN Prometheus scraping the API's proxy on its admin port (no port name on the workload)
    const scrape: Connection = { from: { workload: scraper }, to: { workload: api }, ports: [{ port: 4191 }], purpose: 'proxy metrics' };
    const objects = renderMesh('shop', [api], { connections: [scrape], mesh });
    // THEN the port gets its Server by number and Prometheus' identity
    expect(named(objects, 'Server', 'api-linkerd-admin').spec.port).toBe(4191);
    expect(named(objects, 'MeshTLSAuthentication', 'api-linkerd-admin-meshed').spec.identities).toEqual([identity(scraper)]);
    // AND the NetworkPolicy opens the admin port itself: the client's proxy reaches it directly, not through 4143
    const chart = new Chart(Testing.app(), 'np');
    new NamespacePolicies(chart, 'p', { namespace: 'shop', workloads: [{ ...api, sendsNothing: true }], plan: { connections: [scrape], mesh } });
    const allowApi = (Testing.synth(chart) as Rendered[]).find((o) => o.metadata.name === 'allow-api')!;
    expect(allowApi.spec.ingress[0].ports).toEqual([{ port: 4191, protocol: 'TCP' }]);
  });

  it('fails when a meshed workload is reached on a port range', () => {
    const ranged: Connection = { from: { workload: web }, to: { workload: api }, ports: [{ port: 8080, endPort: 8090 }], purpose: 'range' };
    expect(() => renderMesh('shop', [api], { connections: [ranged], mesh })).toThrow(
      'workload shop/api: connection "range" allows ports 8080-8090, but a meshed workload\'s ports are authorized one by one; declare single ports',
    );
  });

  it('lets Linkerd refuse an undeclared meshed client by its identity', () => {
    // GIVEN the shop namespace as rendered (deny by default, the Servers and authorizations of the plan)
    const chart = new Chart(Testing.app(), 'test');
    new PlatformNamespace(chart, 'shop', { name: 'shop', workloads: [api, db], plan });
    const objects = Testing.synth(chart) as Rendered[];
    expect(named(objects, 'Namespace', 'shop').metadata.annotations).toEqual({ ...INJECT_ANNOTATION, [DEFAULT_INBOUND_POLICY_ANNOTATION]: 'deny' });
    const linkerd = new MeshAuthorizationEvaluator(objects, 'all-unauthenticated', meshIdentity);
    const apiPod = { namespace: 'shop', labels: { 'app.kubernetes.io/name': 'api' } };
    // WHEN the storefront (declared) and the worker (meshed, declared for another port only) call the HTTP port
    const declared = linkerd.decide({ ...apiPod, port: 8080 }, { identity: identity(web), ip: '10.42.1.5' });
    const undeclared = linkerd.decide({ ...apiPod, port: 8080 }, { identity: identity(worker), ip: '10.42.1.6' });
    // THEN the declared identity passes and the undeclared one is refused, whatever a NetworkPolicy would allow
    expect(declared).toEqual({ allowed: true, reason: 'Server api-http: AuthorizationPolicy api-http-meshed' });
    expect(undeclared).toEqual({ allowed: false, reason: 'Server api-http: no AuthorizationPolicy matches; accessPolicy deny' });
    // AND a port no connection reaches is closed by the namespace's default
    expect(linkerd.decide({ ...apiPod, port: 7000 }, { identity: identity(web), ip: '10.42.1.5' }).allowed).toBe(false);
  });

  it('refuses by identity a pod the NetworkPolicy lets through: same labels as the declared client, another ServiceAccount', () => {
    // GIVEN both namespaces rendered (NetworkPolicies and mesh policies)
    const chart = new Chart(Testing.app(), 'test');
    new PlatformNamespace(chart, 'shop', { name: 'shop', workloads: [api, db], plan });
    new PlatformNamespace(chart, 'front', { name: 'front', workloads: [{ ...web, receivesNothing: true }], plan });
    const objects = Testing.synth(chart) as Rendered[];
    // WHEN a pod in the storefront's namespace carries the storefront's label but runs as another ServiceAccount
    const impostor = { namespace: 'front', labels: { 'app.kubernetes.io/name': 'web' }, ip: '10.42.2.9' };
    const apiPod = { namespace: 'shop', labels: { 'app.kubernetes.io/name': 'api' }, ip: '10.42.1.4' };
    // THEN the NetworkPolicies let its packets through (to the proxy's port, as its proxy sends them)
    expect(new NetworkPolicyEvaluator(objects).allows({ from: { pod: impostor }, to: { pod: apiPod }, port: 4143 })).toBe(true);
    // AND Linkerd refuses it, because its identity is not the declared one
    const linkerd = new MeshAuthorizationEvaluator(objects, 'all-unauthenticated', meshIdentity);
    expect(linkerd.decide({ ...apiPod, port: 8080 }, { identity: meshIdentity('front', 'intruder'), ip: impostor.ip }).allowed).toBe(false);
    expect(linkerd.decide({ ...apiPod, port: 8080 }, { identity: identity(web), ip: impostor.ip }).allowed).toBe(true);
  });
});

describe('kubelet probes', () => {
  it('authorizes the kubelet on a port it probes over HTTPS or gRPC, also when no connection reaches it', () => {
    // GIVEN a webhook whose pods the kubelet probes over HTTPS on its serving port, and an admin port probed over gRPC
    const webhook: Workload = { namespace: 'shop', name: 'hook', ports: { https: 8443, admin: 9901 }, nonHttpProbePorts: ['https', 'admin'] };
    const withHook: NetworkPlan = { connections: [{ from: { network: apiServer }, to: { workload: webhook }, ports: [{ port: 8443 }], purpose: 'admission' }], mesh };
    const objects = renderMesh('shop', [webhook], withHook);
    // THEN both ports have a Server, and the kubelet's addresses are authorized next to the API server's
    expect(named(objects, 'NetworkAuthentication', 'hook-https-networks').spec.networks).toEqual([
      { cidr: '10.42.0.1/32' },
      { cidr: '10.42.1.1/32' },
      { cidr: '192.168.1.10/32' },
    ]);
    expect(named(objects, 'NetworkAuthentication', 'hook-admin-networks').metadata.annotations!['platform-synthesizer.io/unauthenticated-clients']).toBe(
      'kubelet probes (node bridge addresses): kubelet probes over HTTPS or gRPC',
    );
    // AND the kubelet passes while a pod of the pod network does not
    const linkerd = new MeshAuthorizationEvaluator(objects, 'all-unauthenticated', meshIdentity);
    const target = { namespace: 'shop', labels: { 'app.kubernetes.io/name': 'hook' }, port: 9901 };
    expect(linkerd.decide(target, { ip: '10.42.1.1' }).allowed).toBe(true);
    expect(linkerd.decide(target, { ip: '10.42.1.7' }).allowed).toBe(false);
  });

  it('lists the bridge address of every node subnet of the pod network, and no pod address', () => {
    const sources = kubeletProbeSources('10.42.0.0/16');
    expect(sources.cidrs).toHaveLength(256);
    expect(sources.cidrs.map(({ cidr }) => cidr)).toEqual(Array.from({ length: 256 }, (_, i) => `10.42.${i}.1/32`));
    expect(kubeletProbeSources('10.42.7.0/24').cidrs).toEqual([{ cidr: '10.42.7.1/32' }]);
    expect(kubeletProbeSources('10.0.0.0/8').cidrs).toEqual([{ cidr: '10.0.0.0/8' }]);
  });

  // A pod network without a /24 per node is refused by the model: test/fixtures/invalid/pod-cidr-too-small.yaml.
});

describe('NamespacePolicies with the mesh', () => {
  const render = (namespace: string, workloads: Workload[], withPlan: NetworkPlan) => {
    const chart = new Chart(Testing.app(), 'test');
    new NamespacePolicies(chart, 'p', { namespace, workloads, plan: withPlan });
    return Testing.synth(chart) as Rendered[];
  };

  it('also allows the proxy inbound port on both halves of a connection between meshed workloads', () => {
    // GIVEN the API's connection to its database, both meshed
    const apiPolicy = render('shop', [api, db], plan).find((o) => o.metadata.name === 'allow-api')!;
    const dbPolicy = render('shop', [api, db], plan).find((o) => o.metadata.name === 'allow-db')!;
    // THEN the API's egress and the database's ingress allow 5432 and the proxy's 4143
    expect(apiPolicy.spec.egress[0].ports).toEqual([{ port: 5432, protocol: 'TCP' }, { port: 4143, protocol: 'TCP' }]);
    expect(dbPolicy.spec.ingress.map((rule: { ports: unknown }) => rule.ports)).toEqual([
      [{ port: 5432, protocol: 'TCP' }, { port: 4143, protocol: 'TCP' }],
      // the unmeshed client has no proxy: it reaches PostgreSQL's own port only
      [{ port: 5432, protocol: 'TCP' }],
    ]);
    // AND without the mesh the same plan renders the application ports only
    const plain = render('shop', [api, db], { connections }).find((o) => o.metadata.name === 'allow-db')!;
    expect(plain.spec.ingress[0].ports).toEqual([{ port: 5432, protocol: 'TCP' }]);
  });
});

// ---- the whole render with the mesh on: properties of every declared connection ----

function meshedPlatform(): Platform {
  const platform = loadDefaultPlatform();
  return { ...platform, serviceMesh: { ...platform.serviceMesh, enabled: true } };
}

describe('the render with the service mesh on', () => {
  const platform = meshedPlatform();
  const plan = servicePlan(platform, allServices(platform));
  // The seed turns the mesh on: its objects are the worker's cached render.
  const objects = [...(loadDefaultPlatform().serviceMesh.enabled ? defaultKubernetesObjects() : renderKubernetesObjects(platform)).values()] as Rendered[];
  const linkerd = new MeshAuthorizationEvaluator(objects, 'all-unauthenticated', meshIdentity);
  const mesh = meshPlan(platform)!;

  // Every workload of the plan, with a pod address of its own.
  const workloads = new Map<string, Workload>();
  for (const c of plan.connections) for (const peer of [c.from, c.to]) if (isWorkload(peer)) workloads.set(`${peer.workload.namespace}/${peer.workload.name}`, peer.workload);
  const pods = parseCidr(platform.cluster.podCidr)!;
  const nodeIp = mesh.nodeNetwork.cidrs[0].cidr.split('/')[0];
  // Pods get addresses from .2 of a node's /24 on (the bridge holds .1); one /24 holds them all.
  const ipOf = new Map([...workloads.keys()].map((key, i) => [key, intToIpv4(pods.first + 256 + 10 + i)]));
  const podOf = (w: Workload) => ({ namespace: w.namespace, labels: { [selectorLabelOf(w)]: w.name }, ip: w.hostNetwork ? nodeIp : ipOf.get(`${w.namespace}/${w.name}`)! });
  const podKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
  /** The pod templates the render holds for a workload (none for pods an upstream chart renders). */
  const podTemplatesOf = (workload: Workload) =>
    objects
      .filter((o) => podKinds.has(o.kind) && o.metadata.namespace === workload.namespace)
      .map((o) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template))
      .filter((template) => template?.metadata?.labels?.[selectorLabelOf(workload)] === workload.name);
  const clientOf = (w: Workload): MeshClient => ({ ...(isMeshedWorkload(plan, w) ? { identity: identity(w) } : {}), ip: podOf(w).ip });

  it('renders every Linkerd policy object valid against the imported CRD schemas', () => {
    const policyObjects = objects.filter((o) => o.apiVersion.startsWith('policy.linkerd.io/'));
    expect(policyObjects.length).toBeGreaterThan(0);
    const problems = policyObjects.flatMap((o) => {
      const problem = validateObject(o, crds);
      return problem ? [`${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('lets every declared client through Linkerd and refuses every undeclared meshed identity', () => {
    const problems: string[] = [];
    let refusedChecks = 0;
    const meshedWorkloads = [...workloads.values()].filter((w) => isMeshedWorkload(plan, w));
    for (const server of meshedWorkloads) {
      for (const { port, connections: incoming, networks } of portClients(server, plan)) {
        const target = { namespace: server.namespace, labels: podOf(server).labels, port };
        // Clients whose traffic to this port skips their proxy arrive without an identity.
        const bypassed = proxyBypassOf(plan, server, port) !== undefined;
        for (const { from, purpose } of incoming) {
          const client: MeshClient = !isWorkload(from) ? { ip: from.network.cidrs[0].cidr.split('/')[0] } : bypassed ? { ip: podOf(from.workload).ip } : clientOf(from.workload);
          const decision = linkerd.decide(target, client);
          if (!decision.allowed) problems.push(`declared ${purpose} to ${server.namespace}/${server.name}:${port} refused (${decision.reason})`);
        }
        const declared = new Set(incoming.flatMap(({ from }) => (isWorkload(from) && isMeshedWorkload(plan, from.workload) ? [identity(from.workload)] : [])));
        for (const stranger of meshedWorkloads.filter((w) => !declared.has(identity(w)))) {
          // The stranger calls from a pod address (NetworkPolicy aside: say it let the packet through).
          const client = clientOf(stranger);
          // A port open by address to a declared network that holds the stranger's address (the
          // public entry point, or the pod network for an unmeshed client) admits it at Linkerd;
          // there the NetworkPolicy alone tells the pods apart (decision 0124).
          if (networks.some(({ network }) => network.cidrs.some(({ cidr, except }) => inCidr(client.ip, cidr) && !(except ?? []).some((e) => inCidr(client.ip, e))))) continue;
          const decision = linkerd.decide(target, client);
          refusedChecks++;
          if (decision.allowed) problems.push(`undeclared ${stranger.namespace}/${stranger.name} reaches ${server.namespace}/${server.name}:${port} (${decision.reason})`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(refusedChecks).toBeGreaterThan(100);
  });

  it('allows the proxy inbound port exactly for the declared connections between meshed workloads', () => {
    const policies = new NetworkPolicyEvaluator(objects);
    const problems: string[] = [];
    // Connections between meshed workloads that pass the client's proxy to the server's inbound port.
    const meshedPairs = plan.connections.filter(
      (c) =>
        isWorkload(c.from) &&
        isWorkload(c.to) &&
        isMeshedWorkload(plan, c.from.workload) &&
        isMeshedWorkload(plan, c.to.workload) &&
        c.ports.some(
          (p) => (p.protocol ?? 'TCP') === 'TCP' && !mesh.proxyOwnPorts.includes(p.port) && proxyBypassOf(plan, (c.to as { workload: Workload }).workload, p.port) === undefined,
        ),
    );
    expect(meshedPairs.length).toBeGreaterThan(0);
    for (const c of meshedPairs) {
      const from = podOf((c.from as { workload: Workload }).workload);
      const to = podOf((c.to as { workload: Workload }).workload);
      if (!policies.allows({ from: { pod: from }, to: { pod: to }, port: mesh.proxyInboundPort })) problems.push(`${c.purpose}: proxy port blocked`);
    }
    // An undeclared meshed pod in another namespace does not reach a server's proxy port.
    const [first] = meshedPairs;
    const server = podOf((first.to as { workload: Workload }).workload);
    const stranger = { namespace: 'nowhere', labels: { 'app.kubernetes.io/name': 'stranger' }, ip: intToIpv4(pods.last - 1) };
    expect(policies.allows({ from: { pod: stranger }, to: { pod: server }, port: mesh.proxyInboundPort })).toBe(false);
    expect(problems).toEqual([]);
  });

  it('admits the kubelet on every port a meshed workload declares it probes over HTTPS or gRPC', () => {
    const probed = [...workloads.values()].filter((w) => isMeshedWorkload(plan, w) && (w.nonHttpProbePorts ?? []).length > 0);
    expect(probed.length).toBeGreaterThan(0);
    const kubelet = { ip: mesh.kubeletNetwork.cidrs[mesh.kubeletNetwork.cidrs.length - 1].cidr.split('/')[0] };
    for (const workload of probed) {
      for (const name of workload.nonHttpProbePorts!) {
        const decision = linkerd.decide({ namespace: workload.namespace, labels: podOf(workload).labels, port: workload.ports![name] }, kubelet);
        expect(decision.allowed, `${workload.namespace}/${workload.name}:${name} (${decision.reason})`).toBe(true);
      }
    }
  });

  it('never selects one port of a pod with two Servers (Linkerd\'s admission webhook refuses overlapping Servers)', () => {
    const servers = objects.filter((o) => o.kind === 'Server');
    const problems: string[] = [];
    let pods = 0;
    for (const template of objects.flatMap((o) => (podKinds.has(o.kind) ? [{ namespace: o.metadata.namespace!, template: o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template }] : []))) {
      const labels: Record<string, string> = template.template.metadata?.labels ?? {};
      const selecting = servers.filter(
        (s) => s.metadata.namespace === template.namespace && Object.entries(s.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v),
      );
      if (selecting.length > 0) pods++;
      const ports = selecting.map((s) => s.spec.port as number);
      for (const port of new Set(ports)) {
        const overlapping = selecting.filter((s) => s.spec.port === port).map((s) => s.metadata.name);
        if (overlapping.length > 1) problems.push(`${template.namespace}: port ${port} of pods ${JSON.stringify(labels)} is selected by ${overlapping.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
    expect(pods).toBeGreaterThan(10);
  });

  it('gives every Vault consumer the identity of the ServiceAccount its Vault role is bound to', () => {
    const consumers = plan.secretConsumers ?? [];
    expect(consumers.length).toBeGreaterThan(5);
    const problems = consumers
      .filter((c) => !serviceAccountsOf(consumerWorkload(c)).includes(c.serviceAccount))
      .map((c) => `${c.namespace}/${c.name}: Vault binds ServiceAccount "${c.serviceAccount}", its workload's identities name ${serviceAccountsOf(consumerWorkload(c)).map((a) => `"${a}"`).join(', ')}`);
    expect(problems).toEqual([]);
  });

  it('names, for every meshed workload whose pods we render, the ServiceAccount those pods run as', () => {
    const accounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    const problems: string[] = [];
    let checked = 0;
    for (const workload of [...workloads.values()].filter((w) => isMeshedWorkload(plan, w))) {
      for (const template of podTemplatesOf(workload)) {
        checked++;
        const runsAs: string = template.spec.serviceAccountName ?? 'default';
        const expected = serviceAccountOf(workload);
        if (runsAs !== expected) problems.push(`${workload.namespace}/${workload.name}: identity names ServiceAccount "${expected}", its pods run as "${runsAs}"`);
        if (runsAs !== 'default' && !accounts.has(`${workload.namespace}/${runsAs}`)) problems.push(`${workload.namespace}/${workload.name}: ServiceAccount "${runsAs}" is not rendered`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });
});
