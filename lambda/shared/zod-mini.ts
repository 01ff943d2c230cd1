/**
 * The runtime's schemas are written with `zod/mini`, the functional API a bundler can tree-shake
 * (issue 17, docs/performance.md). Import it as a namespace, `import * as z from
 * '../shared/zod-mini'`, and only read its members (`z.string()`): esbuild then keeps only what is
 * used. Passing the namespace itself around as a value (or `import { z } from 'zod'`) makes it keep
 * every export, including zod's ~60 locales (~260 KB minified).
 *
 * zod/mini has no error messages of its own: without a locale every issue reads "Invalid input".
 * Classic zod registers English when its first schema is built, so the messages the rejection
 * details, the cold-start errors and their tests quote ("Too small: expected string to have >=1
 * characters") are English; this registers the same locale, so they stay the same in a bundle that
 * holds no classic zod. Import zod/mini from here, not from 'zod/mini', so the locale is always set.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
