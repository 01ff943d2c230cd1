import * as path from 'node:path';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { PROJECT_ROOT } from '../project-root';

/**
 * How every function of the stack is built (the processor, the monitors, the canary's rollback).
 * The bundle is the exact artifact: integration tests and local mode run these same files, so the
 * AWS SDK is bundled (pinned by our lockfile) instead of taken from the runtime. esbuild is a
 * dependency of the project, so bundling runs locally; never fall back to Docker, which build
 * machines here do not have.
 */
export const FUNCTION_BUILD = {
  projectRoot: PROJECT_ROOT,
  depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
  runtime: Runtime.NODEJS_24_X,
  architecture: Architecture.ARM_64,
  bundling: {
    bundleAwsSDK: true,
    minify: true,
    sourceMap: true,
    target: 'node24',
    format: OutputFormat.CJS,
    // The ES module builds first: the AWS SDK's and Powertools' `module` entries tree-shake, their
    // CommonJS `main` entries (esbuild's default order for node) do not. Measured on the dev
    // processor: 769 KB -> 543 KB minified, cold init about a third less (issue 17, docs/performance.md).
    mainFields: ['module', 'main'],
    forceDockerBundling: false,
  } satisfies BundlingOptions,
} as const;
