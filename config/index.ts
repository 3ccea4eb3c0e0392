export * from './schema';
export * from './load';
export { defaultPlatform } from './default';
export { byCodePoint } from './order';
