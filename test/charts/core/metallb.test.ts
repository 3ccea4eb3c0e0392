import { describe, expect, it } from 'vitest';
import { defaultRender, kubeObjects } from '../../support/render';

const application = (name: string) =>
  kubeObjects(defaultRender()).find(({ object }) => object.kind === 'Application' && object.metadata.name === name)?.object as any;
const values = () => {
  const spec = application('metallb').spec;
  return (spec.sources ?? [spec.source]).find((s: any) => s.chart).helm.valuesObject;
};

describe('MetalLB', () => {
  it('GIVEN chart 0.16 bundles frr-k8s behind frrk8s.enabled (default true) WHEN rendered THEN neither frr-k8s nor the FRR sidecar mode is installed', () => {
    // The subchart's condition is `frrk8s.enabled`; `external` would point the speaker at another
    // frr-k8s; `speaker.frr.enabled` is the deprecated sidecar mode. L2 needs none of them.
    expect(values().frrk8s).toEqual({ enabled: false, external: false });
    expect(values().speaker.frr).toEqual({ enabled: false });
  });
});
