import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { defaultPlatform, loadDefaultPlatform, validatePlatform, type MaintenanceWindow } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { KURED, Kured, kuredValues } from '../../../charts/day-two/kured';
import { SystemUpgradePlans } from '../../../charts/day-two/system-upgrade';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { PROMETHEUS_SERVER, prometheusUrl } from '../../../charts/lib/prometheus';
import { isAlertingRule } from '../../../charts/lib/rule-group';
import { platformRuleGroups } from '../../../charts/observability/prometheus';
import { defaultRender, kubeObjects } from '../../support/render';

const platform = loadDefaultPlatform();
const helm = Kured.registration.helm!(platform);
const configuration = (helm.values as any).configuration;

describe('kured: coordinated reboots after OS updates', () => {
  it('GIVEN the seed model WHEN rendered THEN kured reboots one node at a time, only inside the maintenance window', () => {
    expect(helm.version).toBe(CHARTS.kured.version);
    expect(configuration).toMatchObject({
      concurrency: 1,
      rebootDays: platform.maintenance.days,
      startTime: platform.maintenance.start,
      endTime: platform.maintenance.end,
      timeZone: platform.maintenance.timeZone,
    });
    const window: MaintenanceWindow = { days: ['mo'], start: '23:00', end: '01:30', timeZone: 'America/New_York' };
    expect(kuredValues(window).configuration).toMatchObject({ rebootDays: ['mo'], startTime: '23:00', endTime: '01:30', timeZone: 'America/New_York' });
  });

  it('GIVEN its own connections WHEN its construct renders alone THEN its namespace admits the privileged DaemonSet and its pods reach Prometheus', () => {
    const chart = Testing.chart();
    new Kured(chart, 'kured', { plan: { connections: Kured.registration.connections!(platform) } });
    const objects = Testing.synth(chart);
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe(KURED.namespace);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const egress = objects.find((o) => o.kind === 'NetworkPolicy' && o.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === KURED.name);
    const ports = (egress.spec.egress as any[])
      .filter((rule) => rule.to?.some((peer: any) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === PROMETHEUS_SERVER.namespace))
      .flatMap((rule) => rule.ports.map((p: { port: number }) => p.port));
    expect(ports).toContain(Number(new URL(prometheusUrl()).port));
  });

  it('GIVEN the alert rules Prometheus loads WHEN kured asks Prometheus THEN every alert but the always-firing Watchdog blocks a reboot', () => {
    const plan = { connections: PLATFORM_SERVICES.flatMap((s) => s.connections?.(platform) ?? []) };
    const alerts = platformRuleGroups(platform, plan).flatMap((g) => g.rules.filter(isAlertingRule).map((r) => r.alert));
    const filter = new RegExp(configuration.alertFilterRegexp);
    expect(alerts.length).toBeGreaterThan(10);
    expect(alerts.filter((a) => filter.test(a))).toEqual(['Watchdog']);
    expect(configuration.alertFilterMatchOnly ?? false).toBe(false);
  });

  it('GIVEN the network policies WHEN kured asks Prometheus THEN its URL is the Prometheus Service and both sides allow the flow', () => {
    // Prometheus' Service and ingress policy are the other side: the one whole-render check here.
    const objects = kubeObjects(defaultRender()).map(({ object }) => object as any);
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
    const chart = Testing.chart();
    new SystemUpgradePlans(chart, 'plans', { window: platform.maintenance });
    const plans = Testing.synth(chart).filter((o) => o.kind === 'Plan');
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
