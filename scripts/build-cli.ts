/**
 * Builds pipectl's prebuilt bin: one CommonJS file, dist/pipectl.cjs, with the repository's own
 * TypeScript bundled and every package left a `require` (run by `npm ci`/`npm install` through the
 * `prepare` script, or `npm run build:cli`).
 *
 * Why a bundle: `npx pipectl --help` from source paid for a second npx (the `npx tsx` shebang),
 * tsx's own start-up and the transpilation of the CLI (about 2.8 s against npx's 0.7 s). The
 * bundle is plain JavaScript that node runs directly. Commands load their implementation with
 * `import()` inside their action, which esbuild keeps lazy in the bundle (each module is
 * evaluated when first imported), so `--help` evaluates commander and the command definitions only.
 *
 * It also writes dist/pipectl.inputs.json, the source files the bundle was built from:
 * bin/pipectl.js runs the bundle only while none of them is newer than it, and the TypeScript
 * source through tsx otherwise, so an edit is never hidden behind a stale bundle.
 *
 * The check: the modules evaluated before any command runs (the static import closure of the
 * entry) must not reach CDK, cdk-nag, the AWS SDK, zod or the emulators; the build fails if they do.
 *
 * And it links node_modules/.bin/pipectl to bin/pipectl.js, as npm links a dependency's bin.
 * package.json names no `bin` on purpose: when the project's own package.json has a bin of the
 * name given, npx installs the project into its cache and loads the whole node_modules tree
 * first (libnpmexec), about 0.5 s on every call; a link in node_modules/.bin is found at once.
 *
 * Usage: tsx scripts/build-cli.ts
 */
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';

const ROOT = join(__dirname, '..');
const ENTRY = 'bin/pipectl.ts';
export const CLI_BUNDLE = join(ROOT, 'dist', 'pipectl.cjs');
export const CLI_INPUTS = join(ROOT, 'dist', 'pipectl.inputs.json');
const BIN_LINK = join(ROOT, 'node_modules', '.bin', 'pipectl');

/** Packages `pipectl --help` must not load (our own modules that reach them are caught through them). */
export const NOT_AT_START_UP = /^(aws-cdk-lib|constructs|cdk-nag|esbuild|zod|@aws-sdk\/|@smithy\/|fauxqs|dynalite|cli-progress)(\/|$)/;

/**
 * What is evaluated before a command's action runs: the entry's import closure through static
 * imports and requires, not through `import()` (which the bundle evaluates on first use).
 */
export function startUpClosure(metafile: Metafile, entry: string = ENTRY): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const edge of metafile.inputs[file]?.imports ?? []) {
      if (edge.kind === 'dynamic-import') continue;
      if (edge.external) seen.add(edge.path);
      else queue.push(edge.path);
    }
  }
  return [...seen].sort();
}

export async function buildCli(options: { readonly write?: boolean } = {}): Promise<{ readonly metafile: Metafile; readonly startUp: readonly string[] }> {
  const result = await build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: CLI_BUNDLE,
    packages: 'external',
    metafile: true,
    write: options.write ?? true,
    sourcemap: true,
    logLevel: 'silent',
  });
  const blocking = result.warnings.filter((warning) => warning.text.includes('import.meta'));
  if (blocking.length > 0)
    throw new Error(`the CLI bundle cannot use import.meta: ${blocking.map((warning) => `${warning.location?.file}: ${warning.text}`).join('; ')}`);
  const startUp = startUpClosure(result.metafile);
  const offending = startUp.filter((path) => NOT_AT_START_UP.test(path));
  if (offending.length > 0)
    throw new Error(`pipectl's start-up imports what only commands need (load it in the action with import()): ${offending.join(', ')}`);
  if (options.write ?? true) {
    const inputs = Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules/'));
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    writeFileSync(CLI_INPUTS, `${JSON.stringify({ inputs }, null, 1)}\n`);
  }
  return { metafile: result.metafile, startUp };
}

/** Links node_modules/.bin/pipectl to the launcher (relative, so the checkout can move). */
export function linkBin(): void {
  if (!existsSync(join(ROOT, 'node_modules', '.bin'))) return;
  rmSync(BIN_LINK, { force: true });
  symlinkSync(join('..', '..', 'bin', 'pipectl.js'), BIN_LINK);
}

if (require.main === module) {
  linkBin();
  buildCli().then(
    ({ metafile, startUp }) =>
      process.stderr.write(
        `pipectl: built dist/pipectl.cjs from ${Object.keys(metafile.inputs).length} files; start-up loads ${startUp.filter((path) => !path.startsWith('.') && !/\.(ts|json)$/.test(path)).join(', ')}\n`,
      ),
    (error: unknown) => {
      process.stderr.write(`pipectl build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
