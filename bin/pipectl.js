#!/usr/bin/env node
/**
 * pipectl's launcher, the `bin` of package.json. Plain JavaScript, so node runs it without a
 * TypeScript loader: it runs the prebuilt bundle dist/pipectl.cjs (scripts/build-cli.ts, built by
 * `npm ci` through `prepare`) while the bundle is at least as new as every source file it was
 * built from, and the TypeScript source (bin/pipectl.ts) through tsx otherwise, e.g. right after
 * an edit or a checkout, so a stale bundle never runs. `npm run build:cli` rebuilds it.
 *
 * Hand-written rather than tsx alone: tsx costs a second npx and ~0.5 s of start-up per command.
 */

const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'pipectl.cjs');

/** True when the bundle exists and no file it was built from changed since (about 130 stat calls). */
function bundleIsFresh() {
  try {
    const builtAt = statSync(bundle).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(join(root, 'dist', 'pipectl.inputs.json'), 'utf8'));
    return inputs.every((file) => statSync(join(root, file)).mtimeMs <= builtAt);
  } catch {
    return false; // no bundle, or a source file was removed: run the source
  }
}

if (bundleIsFresh()) {
  require(bundle);
} else {
  if (process.stderr.isTTY) process.stderr.write('pipectl: running from source (the prebuilt bundle is missing or older than the source; npm run build:cli)\n');
  // tsx's loader (what `node --import tsx` loads), then the TypeScript entry.
  import('tsx').then(() => import(pathToFileURL(join(__dirname, 'pipectl.ts')).href));
}
