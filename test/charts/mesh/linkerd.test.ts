import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { PLATFORM_ENV, loadDefaultPlatform, validatePlatform, type Platform } from '../../../config';
import { allServices, servicesOf } from '../../../charts/catalogue';
import { servicePlan } from '../../../charts/synth';
import { LinkerdControlPlane, LinkerdCrds, WEBHOOK_CERTIFICATES, controlPlaneValues, meshControlPlaneConnections } from '../../../charts/mesh/linkerd';
import { LinkerdTrust, TRUST_CHAIN, TRUST_NAMESPACE, TrustManager } from '../../../charts/mesh/trust';
import { PlatformNamespace } from '../../../charts/lib/namespace';
import { DEFAULT_INBOUND_POLICY_ANNOTATION, meshPlan } from '../../../charts/lib/mesh-policy';
import { apiServerCallers, connect, dnsAccess, type Connection, type Workload } from '../../../charts/lib/network';
import { INJECT_ANNOTATION, LINKERD_CONTROL_PLANE, LINKERD_DESTINATION, LINKERD_IDENTITY, LINKERD_PROXY_INJECTOR, LINKERD_NAMESPACE, SKIP_OUTBOUND_PORTS_ANNOTATION, UNMESHED_NAMESPACES, isMeshed } from '../../../charts/lib/service-mesh';
import { VAULT_PORT, VAULT_SERVER } from '../../../charts/lib/vault';
import { defaultRender, kubeObjects } from '../../support/render';
import { NetworkPolicyEvaluator, type Pod } from '../../support/network-evaluator';

const seed = loadDefaultPlatform();
const meshOn: Platform = { ...seed, serviceMesh: { enabled: true } };
const meshOff: Platform = { ...seed, serviceMesh: { enabled: false } };

const APP: Workload = { namespace: 'databases', name: 'redis' };
const HOST: Workload = { namespace: 'node-exporter', name: 'node-exporter', hostNetwork: true };
const UNMESHED: Workload = { namespace: 'cert-manager', name: 'cert-manager' };
const small: Connection[] = [dnsAccess(APP), dnsAccess(HOST), dnsAccess(UNMESHED)];

const clientsOf = (connections: readonly Connection[]) =>
  [...new Set(connections.map((c) => ('workload' in c.from ? `${c.from.workload.namespace}/${c.from.workload.name}` : '')))].sort();

describe('meshed workloads reach the control plane', () => {
  it('GIVEN a workload in a meshed namespace, one on the host network and one in an unmeshed namespace WHEN the mesh is on THEN only the first and the control plane get connections to identity, destination and policy', () => {
    const connections = meshControlPlaneConnections(meshOn, small);
    expect(clientsOf(connections)).toEqual(['databases/redis', ...LINKERD_CONTROL_PLANE.map((w) => `linkerd/${w.name}`)].sort());
    const redis = connections.filter((c) => 'workload' in c.from && c.from.workload === APP);
    expect(redis.map((c) => ['workload' in c.to ? c.to.workload.name : '', c.ports.map((p) => p.port)])).toEqual([
      ['identity', [8080]],
      ['destination', [8086, 8090]],
    ]);
  });

  it('GIVEN the same plan WHEN the mesh is off THEN no control plane connection is added', () => {
    expect(meshControlPlaneConnections(meshOff, small)).toEqual([]);
  });

  it("GIVEN the seed's render WHEN its NetworkPolicies are evaluated THEN every meshed pod reaches identity 8080 and destination 8086/8090, an unmeshed one does not, and only the API server reaches the webhooks", () => {
    const objects = kubeObjects(defaultRender()).map(({ object }) => object);
    const evaluator = new NetworkPolicyEvaluator(objects);
    let ip = 0x0a2a0a00;
    const pod = (w: Workload): Pod => ({ namespace: w.namespace, labels: { [w.selectorLabel ?? 'app.kubernetes.io/name']: w.name }, ip: `10.42.${(++ip >> 8) & 255}.${ip & 255}` });
    const identity = pod(LINKERD_IDENTITY);
    const destination = pod(LINKERD_DESTINATION);
    const injector = pod(LINKERD_PROXY_INJECTOR);
    // Every workload the render's plan names in a meshed namespace (not on the host network).
    const named = servicePlan(seed, allServices(seed)).connections.flatMap((c) => [c.from, c.to]).flatMap((peer) => ('workload' in peer ? [peer.workload] : []));
    const meshed = [...new Map(named.filter((w) => !w.hostNetwork && isMeshed(seed, w.namespace)).map((w) => [`${w.namespace}/${w.name}`, w])).values(), ...LINKERD_CONTROL_PLANE];
    expect(meshed.length).toBeGreaterThan(30);
    for (const workload of meshed) {
      const from = { pod: pod(workload) };
      expect(evaluator.allows({ from, to: { pod: identity }, port: 8080 }), `${workload.namespace}/${workload.name} -> identity`).toBe(true);
      for (const port of [8086, 8090]) expect(evaluator.allows({ from, to: { pod: destination }, port }), `${workload.namespace}/${workload.name} -> destination ${port}`).toBe(true);
    }
    expect(evaluator.allows({ from: { pod: pod(UNMESHED) }, to: { pod: identity }, port: 8080 })).toBe(false);
    // The webhooks: the API server's addresses only, not a meshed pod.
    const apiServer = apiServerCallers(seed).cidrs[0].cidr.split('/')[0];
    expect(evaluator.allows({ from: { ip: apiServer }, to: { pod: injector }, port: 8443 })).toBe(true);
    expect(evaluator.allows({ from: { pod: pod(APP) }, to: { pod: injector }, port: 8443 })).toBe(false);
    expect(evaluator.allows({ from: { pod: pod(APP) }, to: { pod: destination }, port: 9443 })).toBe(false);
  });
});

describe('namespaces ask the injector for proxies', () => {
  // The mesh policy's default for meshed namespaces (charts/lib/mesh-policy.ts, decision 0124).
  const DENY_BY_DEFAULT = { [DEFAULT_INBOUND_POLICY_ANNOTATION]: 'deny' };
  const render = (meshed: boolean, name: string, connections: Connection[] = []) => {
    const chart = Testing.chart();
    const workload: Workload = { namespace: name, name: 'app' };
    new PlatformNamespace(chart, 'ns', { name, workloads: [workload], plan: { connections: [dnsAccess(workload), connect({ workload }, workload, [], 'self'), ...connections], ...(meshed ? { mesh: meshPlan(seed) } : {}) } });
    return Testing.synth(chart).find((o) => o.kind === 'Namespace');
  };

  it('GIVEN a meshed render WHEN a namespace not in UNMESHED_NAMESPACES renders THEN it carries linkerd.io/inject: enabled; one in the list does not', () => {
    expect(render(true, 'databases').metadata.annotations).toEqual({ ...INJECT_ANNOTATION, ...DENY_BY_DEFAULT });
    expect(render(true, 'cert-manager').metadata.annotations).toBeUndefined();
    expect(render(false, 'databases').metadata.annotations).toBeUndefined();
  });

  it("GIVEN a meshed namespace whose pods log in to Vault WHEN it renders THEN its pods skip Vault's port in the proxy", () => {
    const client: Workload = { namespace: 'databases', name: 'app' };
    const vault = { from: { workload: client }, to: { workload: VAULT_SERVER }, ports: [{ port: VAULT_PORT }], purpose: 'Vault' };
    expect(render(true, 'databases', [vault]).metadata.annotations).toEqual({ ...INJECT_ANNOTATION, ...DENY_BY_DEFAULT, [SKIP_OUTBOUND_PORTS_ANNOTATION]: String(VAULT_PORT) });
    expect(render(false, 'databases', [vault]).metadata.annotations).toBeUndefined();
  });

  it("GIVEN the platform's services WHEN those that run pods in a meshed namespace are listed THEN each syncs after the control plane, so the injector answers when their pods are created", () => {
    const after = LinkerdControlPlane.registration.syncWave;
    const objects = kubeObjects(defaultRender());
    const runsPods = (name: string) => objects.some(({ path, object }) => path.startsWith(`k8s/${PLATFORM_ENV}/${name}/`) && ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(object.kind));
    const services = servicesOf(PLATFORM_ENV, meshOn).filter((service) => isMeshed(meshOn, service.namespace) && (service.helm !== undefined || runsPods(service.name)));
    expect(services.length).toBeGreaterThan(10);
    expect(services.filter((service) => service.syncWave <= after).map((service) => `${service.name} (wave ${service.syncWave})`)).toEqual([]);
  });
});

describe('the control plane chart', () => {
  const values = controlPlaneValues() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const trust = Testing.synth((() => {
    const chart = Testing.chart();
    new LinkerdTrust(chart, 'trust');
    return chart;
  })());
  const certificates = new Map(trust.filter((o) => o.kind === 'Certificate').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));

  it('GIVEN its values WHEN the identity and trust roots are read THEN both come from outside the chart (no PEM in Git)', () => {
    expect(values.identity).toEqual({ externalCA: true, issuer: { scheme: 'kubernetes.io/tls' } });
    expect(values.identityTrustAnchorsPEM).toBe('');
    expect(JSON.stringify(values)).not.toMatch(/BEGIN|crtPEM|keyPEM/);
  });

  it('GIVEN each webhook WHEN its certificate is looked up THEN the trust chain renders it in the linkerd namespace, for the Service the chart names, into the Secret the chart mounts', () => {
    for (const [key, certificate] of Object.entries(WEBHOOK_CERTIFICATES)) {
      expect(values[key], key).toEqual({ externalSecret: true, injectCaFrom: `${LINKERD_NAMESPACE}/${certificate.name}` });
      const rendered = certificates.get(`${LINKERD_NAMESPACE}/${certificate.name}`);
      expect(rendered?.spec.secretName, key).toBe(certificate.secretName);
      expect(rendered?.spec.dnsNames, key).toEqual([`${certificate.name}.${LINKERD_NAMESPACE}.svc`]);
    }
    const ignored = LinkerdControlPlane.registration.helm!(seed).ignoreDifferences!.map((d) => d.jqPathExpressions);
    expect(ignored).toEqual([0, 1, 2].map(() => ['.webhooks[]?.clientConfig.caBundle']));
  });

  it('GIVEN the trust chain WHEN followed from the identity issuer THEN it is signed by the anchor through an Issuer of the linkerd namespace, and the bundle publishes the anchor certificate (never a key) into that namespace only', () => {
    const issuer = certificates.get(`${LINKERD_NAMESPACE}/${TRUST_CHAIN.issuer}`)!;
    expect(issuer.spec).toMatchObject({ isCA: true, secretName: TRUST_CHAIN.issuer, issuerRef: { kind: 'Issuer', name: TRUST_CHAIN.anchor } });
    const anchorIssuer = trust.find((o) => o.kind === 'Issuer' && o.metadata.name === issuer.spec.issuerRef.name)!;
    const anchor = certificates.get(`${LINKERD_NAMESPACE}/${TRUST_CHAIN.anchor}`)!;
    // An Issuer reads its CA Secret from its own namespace.
    expect(anchorIssuer.metadata.namespace).toBe(anchor.metadata.namespace);
    expect(anchorIssuer.spec.ca.secretName).toBe(anchor.spec.secretName);
    expect(anchor.spec).toMatchObject({ isCA: true, privateKey: { rotationPolicy: 'Never' }, issuerRef: { kind: 'Issuer', name: TRUST_CHAIN.selfSignedIssuer } });
    const bundle = trust.find((o) => o.kind === 'Bundle')!;
    expect(bundle.metadata.name).toBe(TRUST_CHAIN.roots);
    expect(bundle.spec.sources).toEqual([{ secret: { name: anchor.spec.secretName, key: 'tls.crt' } }]);
    expect(bundle.spec.target).toEqual({ configMap: { key: 'ca-bundle.crt' }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': LINKERD_NAMESPACE } } });
    // trust-manager reads Bundle sources from its trust namespace only: the anchor's.
    expect(TRUST_NAMESPACE).toBe(anchor.metadata.namespace);
    expect((TrustManager.registration.helm!(seed).values as any).app.trust.namespace).toBe(TRUST_NAMESPACE); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  it("GIVEN the whole render WHEN its issuers are listed THEN none that other namespaces can use signs with the mesh's keys (a CA from it could impersonate any workload)", () => {
    const objects = kubeObjects(defaultRender()).map(({ object }) => object as any); // eslint-disable-line @typescript-eslint/no-explicit-any
    const meshCaSecrets = new Set(objects.filter((o) => o.kind === 'Certificate' && o.metadata.namespace === LINKERD_NAMESPACE && o.spec.isCA).map((o) => o.spec.secretName));
    expect(meshCaSecrets).toEqual(new Set([TRUST_CHAIN.anchor, TRUST_CHAIN.issuer]));
    const signing = objects.filter((o) => ['Issuer', 'ClusterIssuer'].includes(o.kind) && meshCaSecrets.has(o.spec?.ca?.secretName));
    expect(signing.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([`Issuer ${LINKERD_NAMESPACE}/${TRUST_CHAIN.anchor}`]);
  });

  it('GIVEN the whole render WHEN searched THEN no certificate or key material is in it', () => {
    for (const [path, text] of defaultRender()) expect(text, path).not.toMatch(/-----BEGIN|LS0tLS1CRUdJTi/);
  });

  it('GIVEN the install order WHEN the waves are compared THEN cert-manager < trust-manager, CRDs < trust chain = control plane', () => {
    expect(TrustManager.registration.syncWave).toBeGreaterThan(0);
    expect(LinkerdTrust.registration.syncWave).toBeGreaterThan(TrustManager.registration.syncWave);
    expect(LinkerdTrust.registration.syncWave).toBeGreaterThan(LinkerdCrds.registration.syncWave);
    expect(LinkerdControlPlane.registration.syncWave).toBe(LinkerdTrust.registration.syncWave);
    expect(Object.keys(UNMESHED_NAMESPACES)).toContain(LINKERD_NAMESPACE);
  });

  it('GIVEN the previous anchor certificate in the model WHEN the trust chain renders THEN the bundle trusts it besides the current anchor', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIQ\n-----END CERTIFICATE-----\n';
    const model = validatePlatform({ ...seed, serviceMesh: { enabled: true, previousTrustAnchorPEM: pem } });
    const chart = Testing.chart();
    new LinkerdTrust(chart, 'trust', { previousTrustAnchorPEM: model.serviceMesh.previousTrustAnchorPEM });
    const bundle = Testing.synth(chart).find((o) => o.kind === 'Bundle')!;
    expect(bundle.spec.sources).toEqual([{ secret: { name: TRUST_CHAIN.anchor, key: 'tls.crt' } }, { inLine: pem }]);
  });

  it('fails when the previous anchor given in the model is not one PEM certificate (a private key, say), naming the path and the fix', () => {
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n';
    expect(() => validatePlatform({ ...seed, serviceMesh: { enabled: true, previousTrustAnchorPEM: key } })).toThrow(
      'serviceMesh.previousTrustAnchorPEM: (value not shown): must be one PEM certificate ("-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"), the tls.crt of the previous linkerd-trust-anchor Secret; never a private key',
    );
    // The key itself is never repeated.
    expect(() => validatePlatform({ ...seed, serviceMesh: { enabled: true, previousTrustAnchorPEM: key } })).not.toThrow(/MHcCAQEEIB|PRIVATE/);
  });
});
