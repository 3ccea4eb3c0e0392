import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configYaml } from '../../../charts/observability/config-yaml';

describe('configYaml', () => {
  it('writes plain data that any YAML parser reads back exactly', () => {
    const data = {
      plain: 'alertmanager.monitoring.svc',
      port: 9093,
      ratio: 0.25,
      enabled: true,
      nothing: null,
      lookalikes: ['9093', 'on', 'Off', 'yes', 'null', '~', '1e3', '', ' padded ', '-dash', '#hash', 'a: b', '*star', '&anchor', '!tag', '%pct', '@at', '`tick`'],
      templates: ['{{ $labels.job }} is down', "it's \"quoted\"", 'line one\nline two', 'tab\there', 'ünïcode ✓'],
      'dotted.key': { 'key with space': 1, 'http_server.http2': 'on', '9093': 'numeric key', true: 'reserved key' },
      nested: [{ a: 1, b: [{ c: 'd' }, []], e: {} }, [], {}, [[1, 2], ['x']]],
      empty: { list: [], map: {} },
    };
    expect(parse(configYaml(data))).toEqual(data);
  });

  it('keeps simple values readable', () => {
    expect(configYaml({ route: { receiver: 'ops-email', group_by: ['alertname', 'namespace'] }, matchers: ['severity="critical"'] })).toBe(
      'route:\n  receiver: ops-email\n  group_by:\n    - alertname\n    - namespace\nmatchers:\n  - "severity=\\"critical\\""\n',
    );
  });

  it('fails on values YAML cannot hold', () => {
    expect(() => configYaml({ n: Number.NaN })).toThrow('configYaml: NaN is not a finite number');
    expect(() => configYaml({ f: () => 1 })).toThrow('configYaml: cannot write a function');
  });
});
