/**
 * Renders the gateway's own files into `gateway/`: what cloud-init writes on the EC2 gateway, also
 * committed on their own so a review reads them as files rather than inside the user data.
 */
import type { Platform } from '../../config';
import { CLOUD_INIT_FILE, renderCloudInit } from './cloud-init';
import { renderHaproxyConfig } from './haproxy';
import { renderHeadscaleConfig, renderHeadscalePolicy } from './headscale';

export function renderGateway(platform: Platform): Map<string, string> {
  return new Map([
    [CLOUD_INIT_FILE, renderCloudInit(platform)],
    ['gateway/haproxy.cfg', renderHaproxyConfig(platform)],
    ['gateway/headscale/acl.hujson', renderHeadscalePolicy(platform)],
    ['gateway/headscale/config.yaml', renderHeadscaleConfig(platform)],
  ]);
}
