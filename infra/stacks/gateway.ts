import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { EipAssociation } from '@cdktf/provider-aws/lib/eip-association';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { VolumeAttachment } from '@cdktf/provider-aws/lib/volume-attachment';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import type { Platform } from '../../config';
import { CLOUD_INIT_FILE, EC2_USER_DATA_LIMIT } from '../gateway/cloud-init';
import { FIRST_ADMIN_KEY_PARAMETER } from '../gateway/model';
import { GATEWAY_PORTS } from '../../config/gateway';
import { useStateBucket } from '../lib/backend';
import { TerraformData } from '../lib/terraform-data';
import { CLOUDFLARE_IPV4_RANGES } from '../../config/cloudflare';
import { pathFromStack } from '../lib/layout';
import { declarePolicyExceptions } from '../lib/policy';
import { defaultTags } from '../lib/tags';

const ANYWHERE = '0.0.0.0/0';

/**
 * The longest base64 text whose bytes surely fit EC2's user data limit: every 4 characters carry
 * at most 3 bytes, so 21,844 characters are at most 16,383 bytes.
 */
const USER_DATA_BASE64_LIMIT = 4 * Math.floor(EC2_USER_DATA_LIMIT / 3);

/** One security group rule: the gateway opens exactly these and nothing else. */
interface GatewayRule {
  readonly id: string;
  readonly description: string;
  readonly protocol: 'tcp' | 'udp';
  readonly fromPort: number;
  readonly toPort?: number;
  readonly cidr: string;
}

/** What the internet may open towards the gateway. No 22: administration is Tailscale SSH over the mesh. */
export function gatewayIngressRules(): GatewayRule[] {
  return [
    {
      id: 'https',
      description: 'HTTPS: Headscale (DNS-only; Tailscale clients connect directly) and the Cloudflare-proxied hosts (HAProxy admits those from Cloudflare only)',
      protocol: 'tcp',
      fromPort: GATEWAY_PORTS.https,
      cidr: ANYWHERE,
    },
    ...CLOUDFLARE_IPV4_RANGES.map((cidr) => ({
      id: `http-cloudflare-${cidr.replace(/[./]/g, '-')}`,
      description: `HTTP from Cloudflare (${cidr}): redirect to HTTPS and ACME HTTP-01 for the cluster`,
      protocol: 'tcp' as const,
      fromPort: GATEWAY_PORTS.http,
      cidr,
    })),
    { id: 'stun', description: 'STUN for the embedded DERP relay of Headscale', protocol: 'udp', fromPort: GATEWAY_PORTS.stun, cidr: ANYWHERE },
    {
      id: 'wireguard',
      description: 'WireGuard (Tailscale) direct connections from mesh peers; unauthenticated packets are dropped',
      protocol: 'udp',
      fromPort: GATEWAY_PORTS.wireguard,
      cidr: ANYWHERE,
    },
  ];
}

/**
 * What the gateway may open towards the internet. DNS (Route 53 Resolver) and NTP (Amazon Time
 * Sync) are link-local services security groups do not filter, so no rule names them.
 */
export function gatewayEgressRules(): GatewayRule[] {
  return [
    {
      id: 'https',
      description: 'HTTPS: Debian security updates, the pinned Headscale and Tailscale downloads, Let\'s Encrypt for Headscale',
      protocol: 'tcp',
      fromPort: GATEWAY_PORTS.https,
      cidr: ANYWHERE,
    },
    { id: 'http', description: 'HTTP: Debian package mirrors (apt verifies every package signature)', protocol: 'tcp', fromPort: GATEWAY_PORTS.http, cidr: ANYWHERE },
    {
      id: 'wireguard',
      description: 'WireGuard (Tailscale) to mesh peers behind NAT, whose mapped ports are arbitrary, and STUN',
      protocol: 'udp',
      fromPort: 1024,
      toPort: 65535,
      cidr: ANYWHERE,
    },
  ];
}

/**
 * The platform's only public entry: an EC2 instance in its own VPC that runs HAProxy, Headscale
 * and the Tailscale client, configured entirely by the rendered cloud-init user data
 * (`dist/gateway/cloud-init.yaml`, which Terraform reads and gzip-compresses at plan time).
 *
 * The instance is immutable: a change of that file replaces it (`terraform apply` does). Its
 * state (Headscale's database and keys, the gateway's own node key) lives on a separate encrypted
 * volume that survives replacement, and its public address is an Elastic IP that stays. A newer
 * Debian image does not replace it by itself (`ignore_changes = [ami]`); replace it deliberately
 * with `terraform apply -replace=aws_instance.gateway` to pick one up.
 */
export class GatewayStack extends TerraformStack {
  constructor(scope: Construct, id: string, platform: Platform) {
    super(scope, id);
    const { gateway } = platform;
    useStateBucket(this, platform, id);
    new AwsProvider(this, 'aws', { region: gateway.region, defaultTags: [{ tags: defaultTags(id) }] });
    const availabilityZone = `${gateway.region}a`;
    const name = (suffix: string) => ({ Name: `platform-gateway-${suffix}` });

    // --- network ------------------------------------------------------------------------------
    const vpc = new Vpc(this, 'vpc', { cidrBlock: gateway.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: name('vpc') });
    // Nothing may use the default security group: it allows nothing at all.
    new DefaultSecurityGroup(this, 'default-security-group', { vpcId: vpc.id, ingress: [], egress: [], tags: name('default-unused') });
    const subnet = new Subnet(this, 'subnet', {
      vpcId: vpc.id,
      cidrBlock: gateway.subnetCidr,
      availabilityZone,
      // The gateway's only public address is its Elastic IP.
      mapPublicIpOnLaunch: false,
      tags: name('public'),
    });
    const internetGateway = new InternetGateway(this, 'internet-gateway', { vpcId: vpc.id, tags: name('igw') });
    const routeTable = new RouteTable(this, 'route-table', { vpcId: vpc.id, tags: name('public') });
    new Route(this, 'default-route', { routeTableId: routeTable.id, destinationCidrBlock: ANYWHERE, gatewayId: internetGateway.id });
    new RouteTableAssociation(this, 'route-table-association', { subnetId: subnet.id, routeTableId: routeTable.id });

    // Rejected packets only: what was probed and refused, for a few cents a month.
    const flowLogGroup = new CloudwatchLogGroup(this, 'flow-log-group', { name: '/platform/gateway/vpc-flow-log', retentionInDays: 30 });
    const account = new DataAwsCallerIdentity(this, 'account');
    const flowLogRole = new IamRole(this, 'flow-log-role', {
      name: 'platform-gateway-flow-log',
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': account.accountId } },
          },
        ],
      }),
    });
    new IamRolePolicy(this, 'flow-log-policy', {
      role: flowLogRole.id,
      name: 'write-vpc-flow-log',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            Resource: [flowLogGroup.arn, `${flowLogGroup.arn}:log-stream:*`],
          },
        ],
      }),
    });
    new FlowLog(this, 'flow-log', {
      vpcId: vpc.id,
      trafficType: 'REJECT',
      logDestinationType: 'cloud-watch-logs',
      logDestination: flowLogGroup.arn,
      iamRoleArn: flowLogRole.arn,
      maxAggregationInterval: 600,
    });

    // --- security group -----------------------------------------------------------------------
    const securityGroup = new SecurityGroup(this, 'security-group', {
      name: 'platform-gateway',
      description: 'Platform gateway: HTTPS, HTTP from Cloudflare, STUN and WireGuard in; HTTPS, HTTP and WireGuard out',
      vpcId: vpc.id,
      tags: name('sg'),
    });
    for (const rule of gatewayIngressRules()) {
      new VpcSecurityGroupIngressRule(this, `ingress-${rule.id}`, {
        securityGroupId: securityGroup.id,
        description: rule.description,
        ipProtocol: rule.protocol,
        fromPort: rule.fromPort,
        toPort: rule.toPort ?? rule.fromPort,
        cidrIpv4: rule.cidr,
      });
    }
    for (const rule of gatewayEgressRules()) {
      const egress = new VpcSecurityGroupEgressRule(this, `egress-${rule.id}`, {
        securityGroupId: securityGroup.id,
        description: rule.description,
        ipProtocol: rule.protocol,
        fromPort: rule.fromPort,
        toPort: rule.toPort ?? rule.fromPort,
        cidrIpv4: rule.cidr,
      });
      declarePolicyExceptions(egress, {
        'TF-SG-03': 'the gateway reaches package mirrors, release downloads, ACME and NATed mesh peers at addresses not known in advance, on the listed ports only',
      });
    }

    // --- identity: a role that may store the first admin's key and nothing else -----------------
    // No SSM agent and no Session Manager: administration is Tailscale SSH over the mesh. The only
    // AWS call the gateway makes is writing the first admin's pre-auth key (decision 45).
    const role = new IamRole(this, 'role', {
      name: 'platform-gateway',
      description: 'The platform gateway instance: it may only write its first admin\'s mesh key to one SSM parameter (no SSM agent)',
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const partition = new DataAwsPartition(this, 'partition');
    new IamRolePolicy(this, 'role-policy', {
      role: role.id,
      name: 'store-first-admin-key',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'ssm:PutParameter',
            Resource: `arn:${partition.partition}:ssm:${gateway.region}:${account.accountId}:parameter${FIRST_ADMIN_KEY_PARAMETER}`,
          },
        ],
      }),
    });
    const profile = new IamInstanceProfile(this, 'instance-profile', { name: 'platform-gateway', role: role.name });

    // --- the instance -------------------------------------------------------------------------
    const image = new DataAwsAmi(this, 'debian', {
      owners: [gateway.ami.owner],
      mostRecent: true,
      filter: [
        { name: 'name', values: [gateway.ami.name] },
        { name: 'architecture', values: ['x86_64'] },
        { name: 'virtualization-type', values: ['hvm'] },
        { name: 'root-device-type', values: ['ebs'] },
      ],
    });
    // The user data is the rendered file, read and gzip-compressed by Terraform at plan time, so
    // EC2's 16 KiB limit counts compressed bytes and cdk.tf.json does not repeat the text
    // (decision 47). The trigger holds the file's SHA-256: a new hash replaces the instance.
    const cloudInitPath = pathFromStack(id, CLOUD_INIT_FILE);
    const cloudInit = new TerraformData(this, 'cloud-init', { triggersReplace: { sha256: `\${filesha256("${cloudInitPath}")}` } });
    const userData = `base64gzip(file("${cloudInitPath}"))`;
    const instance = new Instance(this, 'gateway', {
      ami: image.id,
      instanceType: gateway.instanceType,
      subnetId: subnet.id,
      vpcSecurityGroupIds: [securityGroup.id],
      associatePublicIpAddress: false,
      iamInstanceProfile: profile.name,
      monitoring: true,
      ebsOptimized: true,
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1, instanceMetadataTags: 'disabled' },
      rootBlockDevice: { volumeType: 'gp3', volumeSize: 10, encrypted: true, deleteOnTermination: true },
      userDataBase64: `\${${userData}}`,
      tags: name('instance'),
      lifecycle: {
        // The compressed bytes are not compared (another Terraform build may compress the same
        // text differently); the file's SHA-256 is, through the trigger. A replacement takes the
        // current user data: ignore_changes does not apply to a new instance.
        ignoreChanges: ['ami', 'user_data_base64'],
        replaceTriggeredBy: [`${cloudInit.terraformResourceType}.${cloudInit.friendlyUniqueId}.id`],
        // Terraform's own bytes, checked at plan time: a file that grew too large fails the plan
        // before the running gateway is destroyed, not the launch after it.
        precondition: [
          {
            condition: `\${length(${userData}) <= ${USER_DATA_BASE64_LIMIT}}`,
            errorMessage: `${CLOUD_INIT_FILE} is more than EC2's ${EC2_USER_DATA_LIMIT} bytes of user data once compressed: declare fewer public hosts, render again and review the diff.`,
          },
        ],
      },
    });

    // Headscale's database and keys, and the gateway's node key: they outlive every instance.
    const state = new EbsVolume(this, 'state-volume', {
      availabilityZone,
      size: 1,
      type: 'gp3',
      encrypted: true,
      tags: name('state'),
      lifecycle: { preventDestroy: true },
    });
    new VolumeAttachment(this, 'state-volume-attachment', {
      deviceName: '/dev/sdf',
      volumeId: state.id,
      instanceId: instance.id,
      // Detach only from a stopped instance, so the filesystem is never cut mid-write.
      stopInstanceBeforeDetaching: true,
    });

    const address = new Eip(this, 'address', { domain: 'vpc', tags: name('eip') });
    new EipAssociation(this, 'address-association', { allocationId: address.allocationId, instanceId: instance.id });

    new TerraformOutput(this, 'public_ip', { value: address.publicIp, description: 'The Elastic IP every public record points at' });
    new TerraformOutput(this, 'instance_id', { value: instance.id });
  }
}
