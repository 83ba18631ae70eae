import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isValidTargetName } from '../contract/target-uri.js';
import type { PluginSource } from './plugin-source.js';

/** The `package.json` field in which a package declares the targets it provides. */
export const PACKAGE_FIELD = 'mldeploy';

/** Every `node_modules` folder from `start` up to the file-system root, nearest first. */
function nodeModulesChain(start: string): string[] {
  const chain: string[] = [];
  let dir = path.resolve(start);
  for (;;) {
    chain.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return chain;
    dir = parent;
  }
}

async function listPackageDirs(nodeModules: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(nodeModules, { withFileTypes: true });
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
    const full = path.join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      const scoped = await readdir(full, { withFileTypes: true }).catch(() => []);
      dirs.push(...scoped.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => path.join(full, e.name)));
    } else {
      dirs.push(full);
    }
  }
  return dirs;
}

/** Reads one package's declaration: `"mldeploy": {"targets": {"<name>": "<module>"}}`. */
async function readDeclaration(packageDir: string): Promise<PluginSource[]> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
  } catch {
    return [];
  }
  if (typeof manifest !== 'object' || manifest === null) return [];
  const record = manifest as Record<string, unknown>;
  const field = record[PACKAGE_FIELD];
  if (typeof field !== 'object' || field === null) return [];
  const targets = (field as Record<string, unknown>)['targets'];
  if (typeof targets !== 'object' || targets === null) return [];
  const packageName = typeof record['name'] === 'string' ? record['name'] : path.basename(packageDir);
  return Object.entries(targets as Record<string, unknown>).map(([target, modulePath]): PluginSource => {
    const base = { kind: 'package', target, packageName, packageDir } as const;
    if (!isValidTargetName(target)) {
      return {
        ...base,
        module: {
          invalid: `the target name ${JSON.stringify(target)} is not valid (use lowercase letters, digits, '+', '-' and '.', starting with a letter)`,
        },
      };
    }
    if (typeof modulePath !== 'string' || modulePath === '') {
      return { ...base, module: { invalid: `the module for target ${JSON.stringify(target)} is not a path` } };
    }
    const resolved = path.resolve(packageDir, modulePath);
    // A package may only point inside itself: a declaration must not load arbitrary files.
    if (path.relative(packageDir, resolved).startsWith('..') || path.isAbsolute(modulePath)) {
      return { ...base, module: { invalid: `the module path ${JSON.stringify(modulePath)} leaves the package` } };
    }
    return { ...base, module: { path: resolved } };
  });
}

/**
 * Finds the target plugins declared by installed packages, in the `node_modules` folders above
 * each of `roots` (nearest first). Nothing is imported; a package is found by its
 * `package.json` alone, so discovery is cheap and a broken plugin cannot break the others.
 */
export async function discoverPackagePlugins(roots: readonly string[]): Promise<PluginSource[]> {
  const seenDirs = new Set<string>();
  const sources: PluginSource[] = [];
  for (const root of roots) {
    for (const nodeModules of nodeModulesChain(root)) {
      if (seenDirs.has(nodeModules)) continue;
      seenDirs.add(nodeModules);
      const packageDirs = await listPackageDirs(nodeModules);
      const declarations = await Promise.all(packageDirs.map(readDeclaration));
      sources.push(...declarations.flat());
    }
  }
  return sources;
}
