import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A moto_server child process on loopback: AWS control-plane APIs (CloudFormation, CloudWatch, Lambda) for tests. */
export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Why moto_server cannot be used here, or undefined when it can. */
export function motoUnavailable(): string | undefined {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 });
  if (probe.error || probe.status !== 0) {
    return 'moto_server is not installed (pip install "moto[server]"): the CloudFormation/CloudWatch/Lambda tests of pipectl are skipped';
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('moto_server did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** An empty zip archive: moto stores a function's code without running it. */
export const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/**
 * Creates a role Lambda may assume in moto and returns its ARN. No IAM client is installed, so
 * CreateRole goes by the query API by hand (moto routes on the credential scope of the
 * Authorization header and checks no signature).
 */
export async function createLambdaRole(moto: MotoServer, region: string, roleName: string): Promise<string> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    }),
  });
  if (!response.ok) throw new Error(`moto CreateRole: ${response.status} ${await response.text()}`);
  return `arn:aws:iam::123456789012:role/${roleName}`;
}
