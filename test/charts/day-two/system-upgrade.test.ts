import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadDefaultPlatform, type MaintenanceWindow } from '../../../config';
import { IMAGES, K3S_VERSION } from '../../../config/versions';
import { AGENT_PLAN, K3S_UPGRADE_JOB, SERVER_PLAN, SystemUpgradeController, SystemUpgradePlans, k3sPlans } from '../../../charts/day-two/system-upgrade';
import { runbookFromReadme, walkBringup } from '../../support/bringup';
import { defaultRender, ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';

const platform = loadDefaultPlatform();
const WINDOW: MaintenanceWindow = { days: ['sa', 'su'], start: '02:00', end: '05:00', timeZone: 'UTC' };

/** The Plans alone, from a small window. */
function synthPlans(window: MaintenanceWindow = WINDOW, version?: string): any[] {
  const chart = Testing.chart();
  new SystemUpgradePlans(chart, 'plans', { window, version });
  return Testing.synth(chart);
}
/** The controller alone, with only its own connections (the Kubernetes API). */
function synthController(): any[] {
  const chart = Testing.chart();
  new SystemUpgradeController(chart, 'controller', { plan: { connections: SystemUpgradeController.registration.connections!(platform) } });
  return Testing.synth(chart);
}
const plans = () => synthPlans().filter((object) => object.kind === 'Plan');
const planNamed = (name: string) => plans().find((p) => p.metadata.name === name);

/** A version the versions file does not pin: K3S_VERSION with its patch number raised. */
const bumped = K3S_VERSION.replace(/^v(\d+)\.(\d+)\.(\d+)/, (_m, major, minor, patch) => `v${major}.${minor}.${Number(patch) + 1}`);

afterEach(() => {
  vi.doUnmock('../../../config/versions');
  vi.resetModules();
});

describe('k3s upgrades as GitOps (system-upgrade-controller Plans)', () => {
  it('GIVEN no version WHEN the Plans are rendered THEN the server Plan and the agent Plan both install the pinned k3s version, the one the nodes first install', () => {
    expect(plans().map((p) => p.metadata.name).sort()).toEqual([AGENT_PLAN, SERVER_PLAN].sort());
    for (const plan of plans()) expect(plan.spec.version, plan.metadata.name).toBe(K3S_VERSION);
    expect(synthPlans(WINDOW, bumped).map((p) => p.spec.version)).toEqual([bumped, bumped]);
    // The same release the runbook's first install names in every node's config.
    const files = defaultRender();
    for (const node of Object.keys(platform.nodes)) expect(files.get(`nodes/${node}/config.yaml`)).toContain(K3S_VERSION);
  });

  it('GIVEN K3S_VERSION bumped in config/versions.ts WHEN the Plans are rendered THEN they carry the new version', async () => {
    expect(bumped).not.toBe(K3S_VERSION);
    vi.doMock('../../../config/versions', async (original) => ({ ...(await original<object>()), K3S_VERSION: bumped }));
    const fresh = await import('../../../charts/day-two/system-upgrade');
    expect(fresh.k3sPlans(WINDOW).map((p) => p.spec.version)).toEqual([bumped, bumped]);
  });

  it('GIVEN the Plans WHEN read THEN the server goes first and the agents follow one at a time, cordoned and drained', () => {
    const server = planNamed(SERVER_PLAN).spec;
    const agent = planNamed(AGENT_PLAN).spec;
    expect(server.concurrency).toBe(1);
    expect(agent.concurrency).toBe(1);
    expect(server.cordon && agent.cordon).toBe(true);
    // The agents' prepare step waits for the server Plan (k3s-upgrade `prepare <plan>`).
    expect(agent.prepare.args).toEqual(['prepare', SERVER_PLAN]);
    // Server and agents are disjoint by k3s' control-plane role label, and together cover every node.
    const [serverSelector] = server.nodeSelector.matchExpressions;
    const [agentSelector] = agent.nodeSelector.matchExpressions;
    expect(serverSelector.key).toBe(agentSelector.key);
    expect([serverSelector.operator, agentSelector.operator]).toEqual(['In', 'DoesNotExist']);
    // Drain: keep DaemonSets, drop emptyDir data, respect PodDisruptionBudgets, give up after a timeout.
    expect(agent.drain).toMatchObject({ ignoreDaemonSets: true, deleteEmptydirData: true, disableEviction: false, force: false });
    expect(agent.drain.timeout).toMatch(/^\d+m$/);
    // The upgrade Jobs' pods carry the Plans' labels: kured's blocking selector names them.
    for (const plan of plans()) expect(plan.metadata.labels['app.kubernetes.io/name']).toBe(K3S_UPGRADE_JOB.name);
  });

  it('GIVEN a maintenance window WHEN the Plans are rendered THEN they start only inside it', () => {
    const window: MaintenanceWindow = { days: ['tu', 'th'], start: '22:30', end: '01:00', timeZone: 'Europe/Berlin' };
    for (const { spec } of k3sPlans(window)) {
      expect(spec.window).toEqual({ days: ['tu', 'th'], startTime: '22:30', endTime: '01:00', timeZone: 'Europe/Berlin' });
    }
    for (const plan of synthPlans(window).filter((o) => o.kind === 'Plan')) expect(plan.spec.window.days).toEqual(window.days);
  });

  it('GIVEN the controller WHEN rendered THEN it runs the pinned images, restricted, on the control plane', () => {
    const objects = synthController();
    const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'system-upgrade-controller');
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].image).toBe(IMAGES.systemUpgradeController);
    expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.volumes.some((v: { hostPath?: unknown }) => v.hostPath)).toBe(false);
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': 'true' });
    // The selector and the account stay upstream's: a Deployment's selector cannot change in place.
    expect(deployment.spec.selector.matchLabels).toEqual({ 'upgrade.cattle.io/controller': 'system-upgrade-controller' });
    expect(pod.serviceAccountName).toBe(planNamed(SERVER_PLAN).spec.serviceAccountName);
    const env = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.namespace === 'system-upgrade');
    expect(env.data.SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE).toBe(IMAGES.systemUpgradeKubectl);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it("GIVEN the controller on the workload family WHEN rendered THEN it keeps upstream's shape: the label it reads its name from on its pods, one shared account, settings from the ConfigMap, one pod at a time", () => {
    const objects = synthController();
    const deployment = objects.find((object) => object.kind === 'Deployment');
    const pod = deployment.spec.template;
    const env = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.namespace === 'system-upgrade');
    // SYSTEM_UPGRADE_CONTROLLER_NAME comes from this pod label through the downward API.
    expect(pod.metadata.labels['upgrade.cattle.io/controller']).toBe('system-upgrade-controller');
    expect(pod.spec.containers[0].env[0]).toEqual({ name: 'SYSTEM_UPGRADE_CONTROLLER_NAME', valueFrom: { fieldRef: { fieldPath: "metadata.labels['upgrade.cattle.io/controller']" } } });
    expect(objects.filter((object) => object.kind === 'ServiceAccount').map((a) => a.metadata.name)).toEqual([pod.spec.serviceAccountName]);
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(pod.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: env.metadata.name } }]);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(objects.filter((object) => object.kind === 'Service')).toEqual([]);
  });

  it('fails when the Plans sync in the wave of the controller that registers their CRD', () => {
    // The bring-up walk reads every Application of the whole render: the one whole-render check here.
    const files = defaultRender();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const runbook = runbookFromReadme(readme);
    expect(walkBringup(platform, files, runbook)).toEqual([]);
    const path = [...files.keys()].find((p) => p.endsWith('/apps/application-system-upgrade-plans.yaml'))!;
    const controllerWave = (parse(files.get([...files.keys()].find((p) => p.endsWith('/apps/application-system-upgrade-controller.yaml'))!)!) as any).metadata.annotations['argocd.argoproj.io/sync-wave'];
    const application = parse(files.get(path)!) as any;
    application.metadata.annotations['argocd.argoproj.io/sync-wave'] = controllerWave;
    const findings = walkBringup(platform, new Map([...files, [path, stringify(application)]]), runbook);
    expect(findings.join('\n')).toMatch(/system-upgrade-plans.*needs the CRD of Plan \(upgrade\.cattle\.io\), installed by .*system-upgrade-controller/);
  });
});
