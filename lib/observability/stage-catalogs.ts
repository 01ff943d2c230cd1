import { loadStageConfig } from '../config/stage-load';
import { STAGES } from '../config/stages';
import { buildAlarmCatalog } from './alarm-catalog';
import type { AlarmCatalog } from './alarm-types';

/** The alarm catalog of one stage, from its validated config. */
export function catalogOfStage(stage: string): AlarmCatalog {
  return buildAlarmCatalog(loadStageConfig(stage));
}

/** One catalog per stage of `STAGES`, in their order: what RUNBOOK.md is rendered from. */
export function catalogsOfAllStages(): AlarmCatalog[] {
  return Object.keys(STAGES).map(catalogOfStage);
}
