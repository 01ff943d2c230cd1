// One Lambda execution environment, as a worker thread: it loads the bundled handler once (the
// cold start) and then runs one invocation at a time, like the Lambda service does.
// Plain CommonJS on purpose: it must start without a TypeScript loader (under tsx and vitest alike),
// and it only relays messages.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');

const initStarted = performance.now();
let handler;
try {
  const bundle = require(workerData.bundlePath);
  handler = bundle[workerData.handlerExport];
  if (typeof handler !== 'function') throw new Error(`the bundle exports no function "${workerData.handlerExport}"`);
} catch (error) {
  parentPort.postMessage({ type: 'init-error', error: { name: error.name, message: error.message } });
  throw error;
}
parentPort.postMessage({ type: 'ready', initMs: performance.now() - initStarted });

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, deadline, requestId } = message;
  const context = {
    awsRequestId: requestId,
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    memoryLimitInMB: String(workerData.memoryMb),
    invokedFunctionArn: `arn:aws:lambda:${workerData.region}:000000000000:function:${workerData.functionName}`,
    logGroupName: `/aws/lambda/${workerData.functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const started = performance.now();
  let outcome;
  try {
    const result = await handler(event, context);
    outcome = { type: 'result', id, ok: true, result, durationMs: performance.now() - started };
  } catch (error) {
    outcome = {
      type: 'result',
      id,
      ok: false,
      error: { name: (error && error.name) || 'Error', message: String((error && error.message) || error) },
      durationMs: performance.now() - started,
    };
  }
  // Lambda ends every invocation's log with an END line; here it also tells the parent that every
  // line the invocation wrote (its EMF metrics included) has been passed on, since stdout and this
  // message port are separate channels with no ordering between them.
  process.stdout.write(`END RequestId: ${requestId}\n`, () => parentPort.postMessage(outcome));
});
