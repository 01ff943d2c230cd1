import { type Command, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import type { PipelineTarget, TargetOptions } from '../../pipectl/target';

/** The options every on-call command takes to name its pipeline. */
export interface TargetFlags {
  readonly stage?: string;
  readonly region?: string;
  readonly local?: boolean | string;
}

/** Adds `--stage`, `--region` and `--local [serve-file]` to a command. */
export function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option('--stage <name>', 'a deployed stage: the stack AiPipeline-<name> (or set PIPECTL_STAGE)'))
    .addOption(new Option('--region <region>', 'AWS region of the stage (default: AWS_REGION or your profile)'))
    .addOption(new Option('--local [serve-file]', 'the local pipeline of `pipectl local --serve` (or set PIPECTL_LOCAL=1)'));
}

/** Adds an "Examples:" block to a command's --help. */
export function addExamples(command: Command, ...examples: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((example) => `  $ ${example}`).join('\n')}\n`);
}

/** Resolves the target from the flags, runs `body`, and closes the clients whatever happens. */
export async function withTarget<T>(flags: TargetFlags, body: (target: PipelineTarget) => Promise<T>): Promise<T> {
  const options: TargetOptions = { stage: flags.stage, region: flags.region, local: flags.local };
  // Loaded here, not at the top: it brings the AWS SDK clients, which --help does not need.
  const { resolveTarget } = await import('../../pipectl/target');
  const target = await resolveTarget(options);
  try {
    return await body(target);
  } finally {
    target.destroy();
  }
}

/** One line naming the target, so every answer says which pipeline it is about. */
export function announce(io: CliIo, target: PipelineTarget): void {
  io.err(`pipectl: ${target.description}\n`);
}

/** The flags that name this target again, for the commands a message suggests. */
export function targetHint(target: PipelineTarget): string {
  return target.kind === 'local' ? '--local' : `--stage ${target.stage}${process.env.AWS_REGION ? '' : ` --region ${target.region}`}`;
}
