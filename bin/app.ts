#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth -c stage=dev|prod` (dev when no stage is given).
 * Everything lives in lib/pipeline-app.ts, so tests and local mode build the very same app.
 */
import { createPipelineApp } from '../lib/pipeline-app';

createPipelineApp();
