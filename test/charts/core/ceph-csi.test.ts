import { describe, expect, it } from 'vitest';
import { defaultRender, kubeObjects } from '../../support/render';

const application = (name: string) =>
  kubeObjects(defaultRender()).find(({ object }) => object.kind === 'Application' && object.metadata.name === name)?.object as any;
const helmSource = (name: string) => {
  const spec = application(name).spec;
  return (spec.sources ?? [spec.source]).find((s: any) => s.chart);
};
const semver = (version: string) => version.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map(Number);
const atLeast = (version: string, floor: string) => {
  const [a, b] = [semver(version), semver(floor)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
};

describe('snapshot-controller', () => {
  it('GIVEN its conversion webhook is off WHEN rendered THEN the chart is a version that renders no conversion stanza and no self-signed Secret for it', () => {
    // Before 5.2.0 the chart pointed volumegroupsnapshotcontents' conversion at the missing webhook
    // Service and generated a fresh certificate on every render: never in sync under Argo CD.
    const source = helmSource('snapshot-controller');
    expect(source.helm.valuesObject.webhook).toEqual({ enabled: false });
    expect(atLeast(source.targetRevision, '5.2.0'), `snapshot-controller chart ${source.targetRevision}`).toBe(true);
  });
});
