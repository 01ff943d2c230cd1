// One Lambda execution environment, as a worker thread or a child process: it loads the bundled
// handler once (the cold start) and then runs one invocation at a time, like the Lambda service does.
// Plain CommonJS on purpose: it must start without a TypeScript loader (under tsx and vitest alike),
// and it only relays messages.
'use strict';
const threads = require('node:worker_threads');
const { performance } = require('node:perf_hooks');

// As a thread: workerData and parentPort. As a child process (fork): the same data in an env var
// that is removed before the handler loads, and the IPC channel.
let workerData = threads.workerData;
let parentPort = threads.parentPort;
if (!parentPort) {
  workerData = JSON.parse(process.env.LOCAL_LAMBDA_WORKER_DATA);
  delete process.env.LOCAL_LAMBDA_WORKER_DATA;
  parentPort = {
    postMessage: (message) => process.send(message),
    on: (event, listener) => process.on(event, listener),
  };
}
const isProcess = !threads.parentPort;

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
  // A graceful stop (child process only): exit normally so --cpu-prof and friends write their files.
  if (message.type === 'exit') process.exit(0);
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
  const cpuBefore = isProcess ? process.cpuUsage() : undefined;
  let outcome;
  try {
    const result = await handler(event, context);
    outcome = { type: 'result', id, ok: true, result, durationMs: performance.now() - started };
  } catch (error) {
    outcome = {
      type: 'result',
      id,
      ok: false,
      error: { name: error?.name || 'Error', message: String(error?.message || error) },
      durationMs: performance.now() - started,
    };
  }
  if (cpuBefore) {
    // Only a child process has its own CPU clock and RSS: what the benchmark reads per environment.
    const cpu = process.cpuUsage(cpuBefore);
    outcome.cpuMicros = cpu.user + cpu.system;
    outcome.maxRssKb = process.resourceUsage().maxRSS;
  }
  // Lambda ends every invocation's log with an END line; here it also tells the parent that every
  // line the invocation wrote (its EMF metrics included) has been passed on, since stdout and this
  // message port are separate channels with no ordering between them.
  process.stdout.write(`END RequestId: ${requestId}\n`, () => parentPort.postMessage(outcome));
});
