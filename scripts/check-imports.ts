/**
 * The layering rules of this repository, run by `npm test` (`npm run check:imports`):
 * - no import cycle anywhere, static or dynamic (a cycle hides an ordering dependency, often behind
 *   a dynamic `import()`, that the next engineer trips over);
 * - the rules below (DESIGN.md "Runtime (lambda/)"): the runtime never imports the infrastructure,
 *   the CLI or local mode; lib/ shares only the contract with it; the lower layers of lambda/ never
 *   import the processor or the monitors that use them; product code never imports examples/.
 *
 * Why not madge or dependency-cruiser: both parse TypeScript with the TypeScript compiler API, which
 * TypeScript 7 (the native compiler this project type-checks with) no longer ships. esbuild, which
 * bundles the Lambda anyway, resolves every import exactly as the bundle does and reports the graph
 * in its metafile. Type-only imports are erased by then: they cannot form a cycle at run time.
 *
 * Usage: tsx scripts/check-imports.ts   (exit 1 and one line per violation when a rule is broken)
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..');
const SOURCE_DIRS = ['bin', 'lib', 'lambda', 'local', 'pipectl', 'scripts', 'bench', 'examples'] as const;

/** A rule: no import from a file matching `from` to a file matching `to` (unless `allow` matches it). */
interface LayerRule {
  readonly name: string;
  readonly from: RegExp;
  readonly to: RegExp;
  readonly allow?: RegExp;
}

export const LAYER_RULES: readonly LayerRule[] = [
  { name: 'lib/ imports only the contract from lambda/', from: /^lib\//, to: /^lambda\//, allow: /^lambda\/contract\.ts$/ },
  {
    name: 'lambda/ is the runtime: no infrastructure, CLI, local mode or CDK',
    from: /^lambda\//,
    to: /^(lib|bin|pipectl|local|bench|scripts|test|examples)\/|(^|\/)node_modules\/(aws-cdk-lib|constructs|cdk-nag|esbuild)\//,
  },
  {
    name: 'the lower layers of lambda/ never import the processor or the monitors',
    from: /^lambda\/(ledger|resilience|model|tasks|shared|errors)\//,
    to: /^lambda\/(processor|monitors)\//,
  },
  { name: 'product code never imports examples/ (data and docs)', from: /^(lambda|lib|bin|pipectl|local)\//, to: /^examples\// },
];

/** The import graph: file → the files it imports (repository-relative paths). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  const absolute = join(ROOT, dir);
  return readdirSync(absolute).flatMap((name) => {
    const path = join(absolute, name);
    if (statSync(path).isDirectory()) return sourceFiles(relative(ROOT, path));
    return /\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Builds the graph of every source file with esbuild's resolver (nothing is written). */
export async function importGraph(): Promise<ImportGraph> {
  const entryPoints = SOURCE_DIRS.flatMap(sourceFiles);
  const result = await build({
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    outdir: join(ROOT, '.import-check'),
    absWorkingDir: ROOT,
    logLevel: 'silent',
    // Packages stay imports: the rules name the ones that matter by path.
    packages: 'external',
    loader: { '.node': 'empty' },
  });
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    graph.set(
      file,
      input.imports.filter((edge) => !edge.external || edge.path.startsWith('.')).map((edge) => edge.path),
    );
  }
  // Externals by package name (aws-cdk-lib…) are kept as node_modules paths so the rules can see them.
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const packages = input.imports.filter((edge) => edge.external && !edge.path.startsWith('.')).map((edge) => `node_modules/${edge.path}/`);
    graph.set(file, [...(graph.get(file) ?? []), ...packages]);
  }
  return graph;
}

/** Every cycle (strongly connected component of more than one file, or a file importing itself). */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative enough for this tree's depth.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indexOf.get(next) ?? 0));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexOf.has(node)) visit(node);
  return cycles;
}

/** Every import that breaks one of `rules`, as a line naming the rule and the edge. */
export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[] = LAYER_RULES): string[] {
  const violations: string[] = [];
  for (const [from, imports] of graph) {
    for (const rule of rules) {
      if (!rule.from.test(from)) continue;
      for (const to of imports) {
        if (rule.to.test(to) && !rule.allow?.test(to)) violations.push(`${rule.name}: ${from} → ${to}`);
      }
    }
  }
  return violations.sort();
}

async function main(): Promise<void> {
  const graph = await importGraph();
  const problems = [...findCycles(graph).map((cycle) => `import cycle: ${cycle.join(' ↔ ')}`), ...layerViolations(graph)];
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(problems.length === 0 ? `imports: ${graph.size} files, no cycle, layering holds\n` : `imports: ${problems.length} problem(s)\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (require.main === module) void main();
