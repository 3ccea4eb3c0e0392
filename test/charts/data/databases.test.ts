import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { allServices } from '../../../charts/catalogue';
import { Databases, type DatabasesProps } from '../../../charts/data/databases';
import { POSTGRESQL, REDIS } from '../../../charts/lib/data-endpoints';
import { connect, dnsAccess, scrapedBy, type Workload } from '../../../charts/lib/network';
import { servicePlan } from '../../../charts/synth';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';

function synth(props: DatabasesProps): any[] {
  const chart = Testing.chart();
  new Databases(chart, 'databases', props);
  return Testing.synth(chart);
}

// The data servers' own declarations (DNS, Prometheus' scrape) and one hand-written client.
const CLIENT: Workload = { namespace: 'shop', name: 'orders' };
const ownConnections = [POSTGRESQL, REDIS].flatMap((server) => [dnsAccess(server), scrapedBy(server)]);
const SMALL: DatabasesProps = { plan: { connections: [...ownConnections, connect({ workload: CLIENT }, POSTGRESQL, ['postgres'], 'orders keeps its rows in PostgreSQL')] } };

// The whole platform's plan (connections only, nothing rendered): GitLab's and Harbor's declarations.
const platform = loadDefaultPlatform();
const PLATFORM_PLAN: DatabasesProps = { plan: servicePlan(platform, allServices(platform)) };

let ip = 20;
const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ pod: { namespace, labels, ip: `10.42.7.${ip++}` } });

describe('the databases namespace', () => {
  it('GIVEN any plan WHEN rendered THEN the namespace enforces Pod Security restricted and denies by default', () => {
    const objects = synth(SMALL);
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe('databases');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort()).toEqual(['allow-postgresql', 'allow-redis', 'default-deny']);
  });

  it('GIVEN one client declaring PostgreSQL WHEN rendered THEN only that client reaches 5432, and nothing reaches Redis but Prometheus', () => {
    const evaluator = new NetworkPolicyEvaluator(synth(SMALL));
    const orders = pod('shop', { 'app.kubernetes.io/name': 'orders' });
    const postgres = pod('databases', { 'app.kubernetes.io/name': 'postgresql' });
    const redis = pod('databases', { 'app.kubernetes.io/name': 'redis' });
    expect(evaluator.allows({ from: orders, to: postgres, port: 5432 })).toBe(true);
    expect(evaluator.allows({ from: pod('shop', { 'app.kubernetes.io/name': 'payments' }), to: postgres, port: 5432 })).toBe(false);
    expect(evaluator.allows({ from: orders, to: redis, port: 6379 })).toBe(false);
    expect(evaluator.allows({ from: pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), to: redis, port: REDIS.ports!.metrics })).toBe(true);
  });

  it('GIVEN the platform plan WHEN rendered THEN PostgreSQL admits only GitLab, Harbor (5432) and Prometheus (9187)', () => {
    const evaluator = new NetworkPolicyEvaluator(synth(PLATFORM_PLAN));
    const postgres = pod('databases', { 'app.kubernetes.io/name': 'postgresql' });
    const allowed = (from: Endpoint, port: number) => evaluator.allows({ from, to: postgres, port });
    for (const app of ['webservice', 'sidekiq', 'toolbox', 'migrations', 'gitlab-exporter']) expect(allowed(pod('gitlab', { app }), 5432), app).toBe(true);
    for (const component of ['core', 'jobservice', 'exporter']) expect(allowed(pod('harbor', { component }), 5432), component).toBe(true);
    for (const [namespace, labels] of [
      ['gitlab', { app: 'gitaly' }],
      ['harbor', { component: 'nginx' }],
      ['harbor', { component: 'trivy' }],
      ['databases', { 'app.kubernetes.io/name': 'redis' }],
      ['databases', { 'app.kubernetes.io/name': 'intruder' }],
      ['argocd', { 'app.kubernetes.io/name': 'argocd-server' }],
      ['monitoring', { 'app.kubernetes.io/name': 'prometheus' }],
    ] as const) {
      expect(allowed(pod(namespace, labels), 5432), `${namespace} ${JSON.stringify(labels)}`).toBe(false);
    }
    expect(allowed(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), 9187)).toBe(true);
    expect(allowed(pod('gitlab', { app: 'webservice' }), 9187)).toBe(false);
    expect(allowed({ ip: '192.168.10.50' }, 5432)).toBe(false);
  });

  it('GIVEN the platform plan WHEN rendered THEN Redis admits only GitLab, Harbor (6379) and Prometheus (9121)', () => {
    const evaluator = new NetworkPolicyEvaluator(synth(PLATFORM_PLAN));
    const redis = pod('databases', { 'app.kubernetes.io/name': 'redis' });
    const allowed = (from: Endpoint, port: number) => evaluator.allows({ from, to: redis, port });
    for (const app of ['webservice', 'sidekiq', 'toolbox', 'migrations', 'gitlab-exporter']) expect(allowed(pod('gitlab', { app }), 6379), app).toBe(true);
    for (const component of ['core', 'jobservice', 'registry', 'trivy', 'exporter']) expect(allowed(pod('harbor', { component }), 6379), component).toBe(true);
    expect(allowed(pod('gitlab', { app: 'gitaly' }), 6379)).toBe(false);
    expect(allowed(pod('harbor', { component: 'portal' }), 6379)).toBe(false);
    expect(allowed(pod('databases', { 'app.kubernetes.io/name': 'postgresql' }), 6379)).toBe(false);
    expect(allowed(pod('argocd', { 'app.kubernetes.io/name': 'argocd-redis' }), 6379)).toBe(false);
    expect(allowed(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), 9121)).toBe(true);
    expect(allowed(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), 6379)).toBe(false);
  });
});
