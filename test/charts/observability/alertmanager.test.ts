import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { vaultTokenVolume } from '../../../charts/lib/vault';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { Alertmanager, alertmanagerConfig, alertmanagerConnections, alertmanagerConsumer, type AlertmanagerProps } from '../../../charts/observability/alertmanager';
import { ROOT } from '../../support/render';
import { amtoolCheckConfig, amtoolRoutesTest, hasAmtool } from '../../support/promtool';
import { validateCoreObject } from '../../support/schemas';

// The alerting sections of the seed (mail, chat, a continuing critical route) and of the one-node fixture (paging only).
const seedAlerting = loadDefaultPlatform().observability.alerting;
const singleAlerting = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml')).observability.alerting;
const PROPS: AlertmanagerProps = { node: 'node-b', alerting: seedAlerting, vaultTlsServerName: 'vault.example.com' };

function objects(props: AlertmanagerProps = PROPS): any[] {
  const chart = Testing.chart();
  new Alertmanager(chart, 'alertmanager', props);
  return Testing.synth(chart);
}
const rendered = () => parse(objects().find((o) => o.kind === 'ConfigMap').data['alertmanager.yml']);

describe('Alertmanager', () => {
  it('GIVEN the seed alerting WHEN rendered THEN it routes and receives as the model says, with every credential read from a Vault file', () => {
    const config = rendered();
    expect(config.route).toEqual({
      receiver: 'ops-email',
      group_by: ['alertname', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { receiver: 'heartbeat', matchers: ['alertname="Watchdog"'], group_wait: '0s', group_interval: '1m', repeat_interval: '5m' },
        { receiver: 'ops-chat', matchers: ['severity="critical"'], continue: true },
        // The catch-all after a continuing route: what continued still reaches the default receiver.
        { receiver: 'ops-email' },
      ],
    });
    expect(config.global).toEqual({
      resolve_timeout: '5m',
      smtp_smarthost: 'smtp.lumetium.com:587',
      smtp_from: 'alertmanager@lumetium.com',
      smtp_auth_username: 'alertmanager@lumetium.com',
      smtp_auth_password_file: '/vault/secrets/smtp',
      smtp_require_tls: true,
    });
    expect(config.receivers.map((r: any) => r.name)).toEqual(['heartbeat', 'ops-email', 'ops-chat']);
    // The heartbeat's ping URL is a capability: from Vault, like every other credential.
    expect(config.receivers[0].webhook_configs).toEqual([{ url_file: '/vault/secrets/heartbeat', send_resolved: false }]);
    expect(config.receivers[1].email_configs).toEqual([{ to: 'ops@lumetium.com', send_resolved: true }]);
    expect(config.receivers[2].slack_configs[0]).toMatchObject({ api_url_file: '/vault/secrets/ops-chat-slack', channel: '#platform-alerts' });
    // No credential is in the rendered file, only paths to files the Vault agent writes.
    expect(JSON.stringify(config)).not.toMatch(/hooks\.slack\.com|api_url"|auth_password"/);
  });

  it('GIVEN any model WHEN rendered THEN it groups and inhibits: critical over warning, a down node over what runs on it, a sealed Vault over its scrape', () => {
    expect(rendered().inhibit_rules).toEqual([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'namespace'] },
      { source_matchers: ['alertname="NodeDown"'], target_matchers: ['alertname!="NodeDown"'], equal: ['node'] },
      { source_matchers: ['alertname="VaultSealed"'], target_matchers: ['alertname="TargetDown"', 'job="vault"'] },
    ]);
  });

  it('GIVEN receivers with credentials WHEN rendered THEN it declares its Vault consumer, and its pod carries the agent annotations and a token for Vault only', () => {
    expect(alertmanagerConsumer(seedAlerting)).toEqual({
      name: 'alertmanager',
      namespace: 'monitoring',
      serviceAccount: 'alertmanager',
      secrets: [
        { name: 'smtp', keys: ['password'], template: '{{- with secret "secret/data/alertmanager/smtp" -}}{{ index .Data.data "password" }}{{- end }}' },
        { name: 'heartbeat', keys: ['url'], template: '{{- with secret "secret/data/alertmanager/heartbeat" -}}{{ index .Data.data "url" }}{{- end }}' },
        { name: 'ops-chat-slack', keys: ['url'], template: '{{- with secret "secret/data/alertmanager/ops-chat-slack" -}}{{ index .Data.data "url" }}{{- end }}' },
      ],
    });
    expect(Alertmanager.registration.secretConsumers!(loadDefaultPlatform())).toEqual([alertmanagerConsumer(seedAlerting)]);
    const sts = objects().find((o) => o.kind === 'StatefulSet');
    const pod = sts.spec.template;
    expect(pod.metadata.annotations).toMatchObject({
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/role': 'alertmanager',
      'vault.hashicorp.com/agent-inject-secret-smtp': 'secret/data/alertmanager/smtp',
      'vault.hashicorp.com/agent-service-account-token-volume-name': 'vault-token',
    });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.volumes).toContainEqual(vaultTokenVolume());
    expect(pod.metadata.annotations['vault.hashicorp.com/tls-server-name']).toBe('vault.example.com');
    expect(pod.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-b' });
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('ceph-rbd');
    for (const object of objects()) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN mail or only paging WHEN the network is planned THEN it reaches the internet only on the ports its receivers use', () => {
    const egress = (alerting: typeof seedAlerting) => alertmanagerConnections(alerting).filter((c) => 'network' in c.to).map((c) => c.ports.map((x) => x.port));
    expect(egress(seedAlerting)).toEqual([[443, 587]]);
    expect(egress(singleAlerting)).toEqual([[443]]);
  });

  it('amtool check-config accepts the rendered configuration (default and one-node platforms)', (ctx) => {
    if (!hasAmtool()) ctx.skip();
    for (const text of [stringify(rendered()), stringify(alertmanagerConfig(singleAlerting), { aliasDuplicateObjects: false })]) {
      const result = amtoolCheckConfig(text);
      expect(result.output).toContain('SUCCESS');
      expect(result.status, result.output).toBe(0);
    }
    expect(alertmanagerConfig(singleAlerting).receivers).toEqual([{ name: 'heartbeat', webhook_configs: [{ url_file: '/vault/secrets/heartbeat', send_resolved: false }] }, { name: 'pager', pagerduty_configs: [{ routing_key_file: '/vault/secrets/pager-pagerduty', send_resolved: true }] }]);
  });

  it('amtool check-config rejects a route to an unknown receiver (the check is not a no-op)', (ctx) => {
    if (!hasAmtool()) ctx.skip();
    const config = rendered();
    config.route.routes[1].receiver = 'nobody';
    expect(amtoolCheckConfig(stringify(config)).status).not.toBe(0);
  });

  it('GIVEN the rendered routes WHEN amtool routes the Watchdog and other alerts THEN only the Watchdog reaches the heartbeat, and only the heartbeat', (ctx) => {
    if (!hasAmtool()) ctx.skip();
    const text = stringify(rendered());
    const receivers = (labels: Record<string, string>) => {
      const result = amtoolRoutesTest(text, labels);
      expect(result.status, result.output).toBe(0);
      // amtool prints the receivers on stdout, and a warning about --config.file on stderr.
      const line = result.output.split('\n').filter((l) => l.trim() && !l.startsWith('Warning:')).pop()!;
      return line.split(',').map((r) => r.trim());
    };
    expect(receivers({ alertname: 'Watchdog', severity: 'none' })).toEqual(['heartbeat']);
    // Even a Watchdog labelled critical stays away from people.
    expect(receivers({ alertname: 'Watchdog', severity: 'critical' })).toEqual(['heartbeat']);
    const others: Record<string, string>[] = [{ alertname: 'NodeDown', severity: 'critical' }, { alertname: 'TargetDown', severity: 'warning' }, { alertname: 'Other' }];
    for (const labels of others) {
      expect(receivers(labels), JSON.stringify(labels)).not.toContain('heartbeat');
    }
    expect(receivers({ alertname: 'Other' })).toEqual(['ops-email']);
    // The seed's critical route continues: critical alerts reach the chat AND the default receiver.
    expect(receivers({ alertname: 'NodeDown', severity: 'critical' })).toEqual(['ops-chat', 'ops-email']);
  });
});
