/**
 * Harbor's robot accounts: Harbor's setup Job creates them, each app's build pushes with its own
 * and every node's containerd pulls with the cluster's. Here, below the charts and the node
 * configs that name them (docs/decisions/0094-import-layers.md).
 */

/** One permission as Harbor's robot API takes it (goharbor/harbor v2.15.1 src/common/rbac/const.go). */
export interface RobotAccess {
  readonly resource: string;
  readonly action: string;
}

/** Robot accounts (system level, so Harbor names them `robot$<name>`); secrets in Vault. */
export interface HarborRobot {
  readonly name: string;
  readonly description: string;
  /** The Vault KV entry (keys `username`, `password`) the robot's secret comes from. */
  readonly vaultPath: string;
  /** What it may do in every project of the model. */
  readonly access: readonly RobotAccess[];
}

/** The platform's robots, granted on every project of the model; they never expire. */
export const HARBOR_ROBOTS: readonly HarborRobot[] = [
  {
    name: 'cluster-pull',
    description: 'The cluster: pulls images of the applications (managed by the platform)',
    vaultPath: 'secret/data/harbor-robots/cluster-pull',
    access: [{ resource: 'repository', action: 'pull' }],
  },
];

/**
 * What an app's build may do in its own project: push and pull its image, read the artifact and
 * its scan (the scan gate asks by digest), list tags (immutable tags: a re-push is refused, the
 * step keeps the digest Harbor has). Harbor 2.15 grants robots per project, not per repository
 * (src/common/security/robot/context.go builds each policy as `<project scope>/<resource>`), so
 * each app pushes into a project no other app uses (docs/decisions/0119).
 */
export const APP_PUSH_ACCESS: readonly RobotAccess[] = [
  { resource: 'repository', action: 'push' },
  { resource: 'repository', action: 'pull' },
  { resource: 'artifact', action: 'read' },
  { resource: 'artifact', action: 'list' },
  { resource: 'tag', action: 'create' },
  { resource: 'tag', action: 'list' },
  { resource: 'scan', action: 'create' },
  { resource: 'scan', action: 'read' },
];

/** An app's push robot: one project, a lifetime in days, its secret at its own Vault path. */
export interface AppPushRobot extends HarborRobot {
  /** The app it builds for (`apps.<app>`). */
  readonly app: string;
  /** The Harbor project of the app's image (the part of `apps.<app>.image` before the first `/`). */
  readonly project: string;
  /** Days from its creation until Harbor refuses it (`harbor.robotLifetimeDays`). */
  readonly lifetimeDays: number;
}

/** The Harbor project of an image repository `project/name`. */
export function imageProject(image: string): string {
  return image.split('/')[0]!;
}

/** The robot an app's build pushes with: `robot$push-<app>`, on the app's own project only. */
export function appPushRobot(app: string, image: string, lifetimeDays: number): AppPushRobot {
  const project = imageProject(image);
  return {
    app,
    project,
    lifetimeDays,
    name: `push-${app}`,
    description: `The build of app ${app}: pushes ${image} and reads its scans (managed by the platform)`,
    vaultPath: `secret/data/harbor-robots/apps/${app}`,
    access: APP_PUSH_ACCESS,
  };
}

/** The push robots of a model's apps, in the model's order. */
export function appPushRobots(apps: Readonly<Record<string, { readonly image: string }>>, lifetimeDays: number): AppPushRobot[] {
  return Object.entries(apps).map(([app, spec]) => appPushRobot(app, spec.image, lifetimeDays));
}

/** The robot's user name as clients log in with it. */
export function robotUserName(robot: Pick<HarborRobot, 'name'>): string {
  return `robot$${robot.name}`;
}
