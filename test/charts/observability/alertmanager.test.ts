import { vaultTokenVolume } from '../../../charts/lib/vault';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { alertmanager, alertmanagerConfig, alertmanagerConsumer } from '../../../charts/observability/alertmanager';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { amtoolCheckConfig, hasAmtool } from '../../support/promtool';
import { stringify } from 'yaml';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);
const rendered = () => parse((parse(defaultRender().get('k8s/platform/alertmanager/configmap-alertmanager-config.yaml')!) as any).data['alertmanager.yml']);

describe('Alertmanager', () => {
  it('routes and receives as the model says, with every credential read from a Vault file', () => {
    const config = rendered();
    expect(config.route).toEqual({
      receiver: 'ops-email',
      group_by: ['alertname', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [{ receiver: 'ops-chat', matchers: ['severity="critical"'], continue: true }],
    });
    expect(config.global).toEqual({
      resolve_timeout: '5m',
      smtp_smarthost: 'smtp.lumetium.com:587',
      smtp_from: 'alertmanager@lumetium.com',
      smtp_auth_username: 'alertmanager@lumetium.com',
      smtp_auth_password_file: '/vault/secrets/smtp',
      smtp_require_tls: true,
    });
    expect(config.receivers.map((r: any) => r.name)).toEqual(['ops-email', 'ops-chat']);
    expect(config.receivers[0].email_configs).toEqual([{ to: 'ops@lumetium.com', send_resolved: true }]);
    expect(config.receivers[1].slack_configs[0]).toMatchObject({ api_url_file: '/vault/secrets/ops-chat-slack', channel: '#platform-alerts' });
    // No credential is in the rendered file, only paths to files the Vault agent writes.
    expect(JSON.stringify(config)).not.toMatch(/hooks\.slack\.com|api_url"|auth_password"/);
  });

  it('groups and inhibits: critical over warning, a down node over what runs on it, a sealed Vault over its scrape', () => {
    expect(rendered().inhibit_rules).toEqual([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'namespace'] },
      { source_matchers: ['alertname="NodeDown"'], target_matchers: ['alertname!="NodeDown"'], equal: ['node'] },
      { source_matchers: ['alertname="VaultSealed"'], target_matchers: ['alertname="TargetDown"', 'job="vault"'] },
    ]);
  });

  it('declares its Vault consumer; its pods carry the agent annotations and a token for Vault only', () => {
    expect(alertmanagerConsumer(platform)).toEqual({
      name: 'alertmanager',
      namespace: 'monitoring',
      serviceAccount: 'alertmanager',
      secrets: [
        { name: 'smtp', keys: ['password'], template: '{{- with secret "secret/data/alertmanager/smtp" -}}{{ index .Data.data "password" }}{{- end }}' },
        { name: 'ops-chat-slack', keys: ['url'], template: '{{- with secret "secret/data/alertmanager/ops-chat-slack" -}}{{ index .Data.data "url" }}{{- end }}' },
      ],
    });
    expect(alertmanager.secretConsumers!(platform)).toEqual([alertmanagerConsumer(platform)]);
    const sts = objects().find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'alertmanager');
    const pod = sts.spec.template;
    expect(pod.metadata.annotations).toMatchObject({
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/role': 'alertmanager',
      'vault.hashicorp.com/agent-inject-secret-smtp': 'secret/data/alertmanager/smtp',
      'vault.hashicorp.com/agent-service-account-token-volume-name': 'vault-token',
    });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.volumes).toContainEqual(vaultTokenVolume());
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('ceph-rbd');
  });

  it('reaches the internet only on the ports its receivers use', () => {
    const egress = (p: typeof platform) => alertmanager.connections!(p).filter((c) => 'network' in c.to).map((c) => c.ports.map((x) => x.port));
    expect(egress(platform)).toEqual([[443, 587]]);
    expect(egress(single)).toEqual([[443]]);
  });

  it('amtool check-config accepts the rendered configuration (default and one-node platforms)', (ctx) => {
    if (!hasAmtool()) ctx.skip();
    for (const text of [stringify(rendered()), stringify(alertmanagerConfig(single), { aliasDuplicateObjects: false })]) {
      const result = amtoolCheckConfig(text);
      expect(result.output).toContain('SUCCESS');
      expect(result.status, result.output).toBe(0);
    }
    expect(alertmanagerConfig(single).receivers).toEqual([{ name: 'pager', pagerduty_configs: [{ routing_key_file: '/vault/secrets/pager-pagerduty', send_resolved: true }] }]);
  });

  it('amtool check-config rejects a route to an unknown receiver (the check is not a no-op)', (ctx) => {
    if (!hasAmtool()) ctx.skip();
    const config = rendered();
    config.route.routes[0].receiver = 'nobody';
    expect(amtoolCheckConfig(stringify(config)).status).not.toBe(0);
  });
});
