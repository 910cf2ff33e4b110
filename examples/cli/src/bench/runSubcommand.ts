import { spawn } from 'node:child_process';

/**
 * Runs `nextdetail <args>` as a child process of this same CLI file (so the benchmark measures exactly what a user
 * runs), with its stderr — progress bars, notes — passed through. Resolves to its stdout; a non-zero exit rejects
 * with the command line and the end of what it printed.
 */
export function runSubcommand(args: readonly string[]): Promise<string> {
  const cli = process.argv[1];
  if (cli === undefined) return Promise.reject(new Error('cannot tell which file runs this CLI (process.argv[1] is empty)'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve(stdout);
      else reject(new Error(`nextdetail ${args.join(' ')} exited with ${status}:\n${stdout.split('\n').slice(-20).join('\n')}`));
    });
  });
}
