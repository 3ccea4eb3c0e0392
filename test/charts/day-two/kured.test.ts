import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultPlatform, loadDefaultPlatform, validatePlatform, type Platform } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { KURED, kuredValues, prometheusUrl } from '../../../charts/day-two/kured';
import { PROMETHEUS_SERVER } from '../../../charts/observability/workloads';
import { defaultRender, kubeObjects } from '../../support/render';

const platform = loadDefaultPlatform();
const files = defaultRender();
const objects = kubeObjects(files).map(({ object }) => object as any);
const application = parse(files.get([...files.keys()].find((p) => p.endsWith('/apps/application-kured.yaml'))!)!) as any;
const chartSource = (application.spec.sources ?? [application.spec.source]).find((s: { chart?: string }) => s.chart === CHARTS.kured.chart);
const configuration = chartSource.helm.valuesObject.configuration;

/** Every alert name the rendered Prometheus rules define. */
function renderedAlerts(): string[] {
  const rules = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'prometheus-rules');
  return Object.values(rules.data as Record<string, string>).flatMap((text) =>
    ((parse(text) as { groups: { rules: { alert?: string }[] }[] }).groups ?? []).flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a)),
  );
}

describe('kured: coordinated reboots after OS updates', () => {
  it('GIVEN the seed model WHEN rendered THEN kured reboots one node at a time, only inside the maintenance window', () => {
    expect(chartSource.targetRevision).toBe(CHARTS.kured.version);
    expect(configuration).toMatchObject({
      concurrency: 1,
      rebootDays: platform.maintenance.days,
      startTime: platform.maintenance.start,
      endTime: platform.maintenance.end,
      timeZone: platform.maintenance.timeZone,
    });
    const window = { days: ['mo'], start: '23:00', end: '01:30', timeZone: 'America/New_York' };
    expect(kuredValues({ ...platform, maintenance: window } as Platform).configuration).toMatchObject({ rebootDays: ['mo'], startTime: '23:00', endTime: '01:30', timeZone: 'America/New_York' });
  });

  it('GIVEN the rendered alert rules WHEN kured asks Prometheus THEN every alert but the always-firing Watchdog blocks a reboot', () => {
    const filter = new RegExp(configuration.alertFilterRegexp);
    const alerts = renderedAlerts();
    expect(alerts.length).toBeGreaterThan(10);
    expect(alerts.filter((a) => filter.test(a))).toEqual(['Watchdog']);
    expect(configuration.alertFilterMatchOnly ?? false).toBe(false);
  });

  it('GIVEN the network policies WHEN kured asks Prometheus THEN its URL is the Prometheus Service and both sides allow the flow', () => {
    const url = new URL(configuration.prometheusUrl);
    expect(url.toString().replace(/\/$/, '')).toBe(prometheusUrl());
    const port = Number(url.port);
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.namespace === PROMETHEUS_SERVER.namespace && `${o.metadata.name}.${o.metadata.namespace}.svc` === url.hostname);
    expect(service, url.hostname).toBeDefined();
    const egress = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === KURED.namespace && o.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === KURED.name);
    const toPrometheus = (egress.spec.egress as any[]).filter((rule) => rule.to?.some((peer: any) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === PROMETHEUS_SERVER.namespace));
    expect(toPrometheus.flatMap((rule) => rule.ports.map((p: { port: number }) => p.port))).toContain(port);
    const ingress = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === PROMETHEUS_SERVER.namespace).flatMap((o) => o.spec.ingress ?? []);
    expect(ingress.some((rule: any) => rule.from?.some((peer: any) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === KURED.namespace) && rule.ports.some((p: { port: number }) => p.port === port))).toBe(true);
  });

  it('GIVEN the k3s upgrade Plans WHEN kured looks for blocking pods THEN its selector matches the labels the upgrade Jobs inherit', () => {
    const [selector] = configuration.blockingPodSelector as string[];
    const [key, value] = selector.split('=');
    const plans = objects.filter((o) => o.kind === 'Plan');
    expect(plans.length).toBe(2);
    for (const plan of plans) expect(plan.metadata.labels[key], plan.metadata.name).toBe(value);
  });

  it('fails when the maintenance window is not one kured and the upgrade controller can read', () => {
    const problems = (maintenance: unknown) => {
      try {
        validatePlatform({ ...defaultPlatform, maintenance });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const good = defaultPlatform.maintenance;
    expect(problems(good)).toBe('');
    expect(problems({ ...good, timeZone: 'Mars/Olympus' })).toContain('maintenance.timeZone: "Mars/Olympus": must be an IANA time zone name');
    expect(problems({ ...good, start: '2:00' })).toContain('maintenance.start: "2:00": must be a time of day as "HH:MM"');
    expect(problems({ ...good, end: '24:00' })).toContain('maintenance.end: "24:00": must be a time of day');
    expect(problems({ ...good, days: [] })).toContain('maintenance.days: []: must name at least one day');
    expect(problems({ ...good, days: ['saturday'] })).toContain('maintenance.days[0]: "saturday": must be one of "mo", "tu", "we", "th", "fr", "sa", "su"');
    expect(problems({ ...good, end: good.start })).toContain(`maintenance.end: "${good.start}": must differ from start`);
  });
});
