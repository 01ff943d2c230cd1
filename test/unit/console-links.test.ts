import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import {
  alarmConsoleLinks,
  alarmConsoleUrl,
  cloudWatchConsoleUrl,
  dashboardConsoleUrl,
  logSourceOf,
  logsInsightsConsoleUrl,
} from '../../lib/observability/console-links';
import { findAlarm } from '../../lib/observability/runbook';

/** Undoes the console's encoding of a Logs Insights fragment: `$` → `%`, URI decoding, then `unescape()`. */
function queryDetailOf(url: string): string {
  const fragment = url.slice(url.indexOf('#logsV2:logs-insights') + '#logsV2:logs-insights'.length);
  const decoded = decodeURIComponent(fragment.replace(/\$/g, '%'));
  expect(decoded.startsWith('?queryDetail=')).toBe(true);
  return decodeURIComponent(decoded.slice('?queryDetail='.length));
}

/** A JSURL string value (`'` + `*XX` escapes) back to text. */
function jsurlText(value: string): string {
  return value.replace(/\*\*([0-9a-f]{4})|\*([0-9a-f]{2})/g, (_whole, wide: string | undefined, narrow: string | undefined) =>
    String.fromCharCode(Number.parseInt(wide ?? narrow ?? '', 16)),
  );
}

describe('console links', () => {
  it.each([
    ['us-east-1', 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1'],
    ['eu-west-2', 'https://eu-west-2.console.aws.amazon.com/cloudwatch/home?region=eu-west-2'],
    ['cn-north-1', 'https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1'],
    ['us-gov-west-1', 'https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1'],
  ])('the CloudWatch console of %s is %s', (region, expected) => {
    expect(cloudWatchConsoleUrl(region)).toBe(expected);
  });

  it('links an alarm and a dashboard by name', () => {
    expect(alarmConsoleUrl('eu-west-1', 'AiPipeline-prod-dlq-has-messages')).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/AiPipeline-prod-dlq-has-messages',
    );
    expect(dashboardConsoleUrl('eu-west-1', 'AiPipeline-prod')).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/AiPipeline-prod',
    );
  });

  it('writes a Logs Insights query in the form the console shares it', () => {
    // JSURL state, escape()d, URI-encoded, % written as $.
    expect(logsInsightsConsoleUrl('eu-west-1', 'fields @timestamp', [], 1)).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights' +
        '$3FqueryDetail$3D$257E$2528end$257E0$257Estart$257E-3600$257EtimeType$257E$2527RELATIVE$257Eunit$257E$2527seconds$257EeditorString$257E$2527fields*20*40timestamp$2529',
    );
  });

  it('round-trips the query text and the log groups', () => {
    // Prepare
    const query = 'fields @timestamp, message\n| filter level in ["WARN", "ERROR"] or @message like /Task timed out/\n| sort @timestamp desc';

    // Act
    const detail = queryDetailOf(logsInsightsConsoleUrl('us-east-1', query, ['/aws/lambda/a', 'b']));

    // Assess
    const editor = /~editorString~'([^~)]*)/.exec(detail)?.[1];
    expect(jsurlText(editor ?? '')).toBe(query);
    expect(detail).toMatch(/~source~\(~'\*2faws\*2flambda\*2fa~'b\)\)$/);
  });

  it('queries the log of the function that explains the alarm', () => {
    const catalog = buildAlarmCatalog(loadStageConfig('prod'));
    const source = (id: string) => {
      const alarm = findAlarm(catalog, id);
      if (!alarm) throw new Error(`no alarm ${id}`);
      return logSourceOf(alarm);
    };
    expect(source('model-error-rate')).toBe('processor');
    expect(source('pipeline-unhealthy')).toBe('processor');
    expect(source('incomplete-job')).toBe('reconciler');
    expect(source('reconciler-heartbeat')).toBe('reconciler');
    expect(source('drift-critical')).toBe('driftMonitor');
    expect(source('drift-monitor-errors')).toBe('driftMonitor');
  });

  it("builds a stage's links from its config: region, alarm name, dashboard, log group", () => {
    // Prepare
    const catalog = buildAlarmCatalog(loadStageConfig('prod', { observability: { region: 'ap-southeast-2' } }));
    const alarm = findAlarm(catalog, 'dlq-has-messages');
    if (!alarm) throw new Error('no dlq-has-messages alarm');

    // Act
    const links = alarmConsoleLinks(catalog, alarm);

    // Assess
    expect(links).toMatchObject({
      stage: 'prod',
      region: 'ap-southeast-2',
      alarm: alarmConsoleUrl('ap-southeast-2', 'AiPipeline-prod-dlq-has-messages'),
      dashboard: dashboardConsoleUrl('ap-southeast-2', 'AiPipeline-prod'),
      logGroupPrefix: 'AiPipeline-prod-ProcessorLogGroup',
    });
    expect(links.logsInsights.startsWith(`${cloudWatchConsoleUrl('ap-southeast-2')}#logsV2:logs-insights$3FqueryDetail$3D`)).toBe(true);
    expect(jsurlText(/~editorString~'([^~)]*)/.exec(queryDetailOf(links.logsInsights))?.[1] ?? '')).toBe(links.logsQuery);
  });
});
