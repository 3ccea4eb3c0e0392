/** Tags on every AWS resource, through the provider's default_tags. */
export function defaultTags(stack: string): Record<string, string> {
  return { 'managed-by': 'platform-synthesizer', platform: 'platform', stack };
}
