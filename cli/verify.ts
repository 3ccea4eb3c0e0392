/**
 * Structural checks on a render before it may replace `dist/`: every manifest parses and names
 * itself, every Argo CD Application points at a folder that exists and holds manifests, and
 * nothing Argo CD reads is anything but a Kubernetes object.
 */
import { parseAllDocuments } from 'yaml';
import type { RenderedFiles } from './render';

interface ApplicationSource {
  path?: string;
  chart?: string;
}

/**
 * `objects`, when given, are the objects the k8s/ files were serialised from: the checks read
 * them instead of parsing the YAML again (parsing every manifest cost a third of a render).
 */
export function verifyRender(files: RenderedFiles, objects?: ReadonlyMap<string, unknown>): string[] {
  const problems: string[] = [];
  const folders = new Set([...files.keys()].map((path) => path.slice(0, path.lastIndexOf('/'))));

  for (const [path, text] of files) {
    if (!text.endsWith('\n')) problems.push(`${path}: does not end with a newline`);
    if (path.endsWith('.json')) {
      try {
        JSON.parse(text);
      } catch (error) {
        problems.push(`${path}: is not valid JSON: ${(error as Error).message}`);
      }
      continue;
    }
    if (!path.startsWith('k8s/')) continue;
    if (!path.endsWith('.yaml')) {
      problems.push(`${path}: Argo CD reads every file in an Application folder; only .yaml manifests belong under k8s/`);
      continue;
    }
    let object: { apiVersion?: string; kind?: string; metadata?: { name?: string }; spec?: { source?: ApplicationSource; sources?: ApplicationSource[] } };
    if (objects?.has(path)) {
      object = objects.get(path) as typeof object;
    } else {
      const docs = parseAllDocuments(text);
      if (!Array.isArray(docs) || docs.length !== 1) {
        problems.push(`${path}: must hold exactly one YAML document`);
        continue;
      }
      object = docs[0].toJS() as typeof object;
      if (docs[0].errors.length) problems.push(`${path}: ${docs[0].errors[0].message}`);
    }
    if (!object?.apiVersion || !object.kind || !object.metadata?.name) {
      problems.push(`${path}: is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
      continue;
    }
    if (object.kind === 'Application') {
      const sources = object.spec?.sources ?? (object.spec?.source ? [object.spec.source] : []);
      for (const source of sources) {
        if (source.chart || source.path === undefined) continue;
        const folder = source.path.replace(/^dist\//, '');
        if (!source.path.startsWith('dist/') || !folders.has(folder)) {
          problems.push(`${path}: source path ${source.path} is not a folder of the render`);
        }
      }
    }
  }
  return problems;
}
