/**
 * The post-mortem template: the end of RUNBOOK.md and `docs/POSTMORTEM_TEMPLATE.md` (both written
 * by `npm run runbook`), and what `pipectl triage` prefills. Blameless: it asks what the system
 * allowed, not who slipped.
 */
export const POSTMORTEM_TEMPLATE = `# Post-mortem: <title: what broke, for whom, for how long>

- **Status:** draft | in review | final
- **Authors:** <names>
- **Incident date:** <YYYY-MM-DD>, <start>–<end> UTC
- **Alarms:** <alarm names, first one first> (from \`pipectl triage\`)

## Summary

<Two or three sentences a reader outside the team understands: what happened, the impact, how it
was fixed.>

## Impact

- Messages affected: <sent / completed / dead-lettered / in review during the window; \`pipectl jobs\`>
- Results delayed or degraded: <how many, how long, which tier served them>
- Results lost or wrong: <none, or how many and how they were found>
- Spend: <tokens and estimated cost above normal>

## Timeline (UTC)

| time | event |
| --- | --- |
| <hh:mm> | <trigger: deploy, provider incident, traffic change> |
| <hh:mm> | <first alarm> |
| <hh:mm> | <page acknowledged> |
| <hh:mm> | <bleeding stopped: pause / breaker / rollback> |
| <hh:mm> | <recovered: alarms OK> |

## Five whys

1. Why did <the symptom> happen? Because …
2. Why …? Because …
3. Why …? Because …
4. Why …? Because …
5. Why …? Because …

## Trigger

<The change or event that set it off.>

## Resolution

<What stopped the impact, and what restored normal service. Which runbook steps helped, which
were missing or wrong.>

## Action items

| action | type (prevent / detect / mitigate) | owner | due date | ticket |
| --- | --- | --- | --- | --- |
| <action> | <type> | <owner> | <YYYY-MM-DD> | <link> |
`;
