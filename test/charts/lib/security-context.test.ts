import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KANIKO_CONTAINER_SECURITY,
  RESTRICTED_CONTAINER_SECURITY,
  RESTRICTED_CONTAINER_VALUES,
  RESTRICTED_POD_ANY_USER,
  VELERO_NODE_AGENT_CONTAINER_SECURITY,
  VELERO_NODE_AGENT_POD_SECURITY,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  restrictedPodValues,
} from '../../../charts/lib/security-context';
import { ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';
import { compliantObjects, violationsOf } from '../../policy/fixtures';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('security context (Pod Security restricted, one source)', () => {
  it('GIVEN a uid only WHEN the pod level is built THEN it runs as that user and group, non-root, seccomp RuntimeDefault, with no fsGroup', () => {
    expect(restrictedPodSecurity({ uid: 1000 })).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('GIVEN a group, an fsGroup and supplementary groups WHEN the pod level is built THEN each is set, the fsGroup changed only on a root mismatch unless told otherwise', () => {
    expect(restrictedPodSecurity({ uid: 100, gid: 1000, fsGroup: 1000, supplementalGroups: [4] })).toEqual({
      runAsNonRoot: true,
      runAsUser: 100,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      supplementalGroups: [4],
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(restrictedPodSecurity({ uid: 1, fsGroup: 1, fsGroupChangeOnRootMismatch: false })).not.toHaveProperty('fsGroupChangePolicy');
    expect(restrictedPodValues({ uid: 7 })).toEqual(restrictedPodSecurity({ uid: 7 }));
  });

  it('GIVEN the container level WHEN used in a pod or as chart values THEN nothing escalates, no capability is held, the root filesystem is read-only; the values form adds the pod half', () => {
    expect(RESTRICTED_CONTAINER_SECURITY).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(RESTRICTED_CONTAINER_VALUES).toEqual({ ...RESTRICTED_CONTAINER_SECURITY, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(RESTRICTED_POD_ANY_USER).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('GIVEN no identity WHEN a rendered container is secured THEN it is the restricted container level, in a list of its own; GIVEN an identity THEN it also runs as that user and group and states non-root itself', () => {
    const plain = restrictedContainerSecurity();
    expect(plain).toEqual(RESTRICTED_CONTAINER_SECURITY);
    expect(plain.capabilities!.drop).not.toBe(RESTRICTED_CONTAINER_SECURITY.capabilities.drop);
    expect(restrictedContainerSecurity({ uid: 1000 })).toEqual({ ...RESTRICTED_CONTAINER_SECURITY, runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
    expect(restrictedContainerSecurity({ uid: 100, gid: 1000 })).toMatchObject({ runAsUser: 100, runAsGroup: 1000 });
  });

  it('GIVEN a pod that pins no user WHEN its container takes restrictedContainerSecurity with a uid THEN the Kubernetes schema accepts it and the policy engine finds it non-root on its own; without runAsNonRoot on the container it would not', () => {
    const withContainer = (securityContext: object) =>
      compliantObjects().map((object) => {
        if (object.kind !== 'Deployment') return object;
        const spec = (object as any).spec.template.spec;
        return { ...object, spec: { ...(object as any).spec, template: { ...(object as any).spec.template, spec: { ...spec, securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ ...spec.containers[0], securityContext }] } } } };
      });
    const ours = withContainer(restrictedContainerSecurity({ uid: 65532 }));
    expect(validateCoreObject(ours.find((o) => o.kind === 'Deployment')!)).toBeUndefined();
    expect(violationsOf(ours).filter((v) => v.includes('Deployment/'))).toEqual([]);
    const { runAsNonRoot: _dropped, ...withoutNonRoot } = restrictedContainerSecurity({ uid: 65532 });
    expect(violationsOf(withContainer(withoutNonRoot)).filter((v) => v.startsWith('K8S-SEC-05'))).not.toEqual([]);
  });

  it("GIVEN Kaniko's exception WHEN compared with restricted THEN it deviates only as POLICY-RULES section 3 allows: root, a writable root, the runtime's capabilities minus NET_RAW; never privileged, never escalating, seccomp kept", () => {
    expect(KANIKO_CONTAINER_SECURITY).toEqual({
      runAsUser: 0,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['NET_RAW'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it("GIVEN Velero's node agent exception WHEN compared with restricted THEN its pod only runs as root with seccomp kept, and its container is restricted and unprivileged", () => {
    expect(VELERO_NODE_AGENT_POD_SECURITY).toEqual({ runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } });
    expect(VELERO_NODE_AGENT_CONTAINER_SECURITY).toEqual({ ...RESTRICTED_CONTAINER_SECURITY, privileged: false });
    expect(VELERO_NODE_AGENT_CONTAINER_SECURITY).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it('fails when a chart writes a seccomp profile of its own instead of importing charts/lib/security-context.ts', () => {
    const own = join(ROOT, 'charts/lib/security-context.ts');
    const offenders = sources(join(ROOT, 'charts'))
      .filter((path) => path !== own)
      .flatMap((path) => {
        const text = readFileSync(path, 'utf8');
        return /seccompProfile:\s*\{|type:\s*'RuntimeDefault'/.test(text) ? [relative(ROOT, path)] : [];
      });
    expect(offenders).toEqual([]);
  });
});
