export * from './schema';
export * from './load';
export { defaultPlatform } from './default';
