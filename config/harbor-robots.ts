/**
 * Harbor's robot accounts: Harbor's setup Job creates them, the build pipeline pushes with one and
 * every node's containerd pulls with the other. Here, below the charts and the node configs that
 * both name them (docs/decisions/0094-import-layers.md).
 */

/** Robot accounts (system level, so Harbor names them `robot$<name>`); secrets in Vault. */
export interface HarborRobot {
  readonly name: string;
  readonly description: string;
  /** The Vault KV entry (keys `username`, `password`) the robot's secret comes from. */
  readonly vaultPath: string;
  /** What it may do in every project of the model. */
  readonly access: readonly { readonly resource: string; readonly action: string }[];
}

export const HARBOR_ROBOTS: readonly HarborRobot[] = [
  {
    name: 'ci-push',
    description: 'The build pipeline: pushes images and reads their scan results (managed by the platform)',
    vaultPath: 'secret/data/harbor-robots/ci-push',
    access: [
      { resource: 'repository', action: 'push' },
      { resource: 'repository', action: 'pull' },
      { resource: 'artifact', action: 'read' },
      { resource: 'artifact', action: 'list' },
      { resource: 'tag', action: 'create' },
      { resource: 'tag', action: 'list' },
      { resource: 'scan', action: 'create' },
      { resource: 'scan', action: 'read' },
    ],
  },
  {
    name: 'cluster-pull',
    description: 'The cluster: pulls images of the applications (managed by the platform)',
    vaultPath: 'secret/data/harbor-robots/cluster-pull',
    access: [{ resource: 'repository', action: 'pull' }],
  },
];

/** The robot's user name as clients log in with it. */
export function robotUserName(robot: HarborRobot): string {
  return `robot$${robot.name}`;
}
