// Starts the real `iota-scripts serve` on 127.0.0.1, port 0, over a fresh SQLite database in
// a temporary folder; reads the first admin's password and the port from what it prints.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = process.env.IOTA_SCRIPTS_BIN;

export async function startServer() {
  if (!BINARY) throw new Error('IOTA_SCRIPTS_BIN must name the iota-scripts binary (cargo xtask test sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'iota-e2e-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'e2e.db')}?mode=rwc`,
    IOTA_SCRIPTS__SERVER__BIND: '127.0.0.1:0',
    IOTA_SCRIPTS__SCHEDULER__ENABLED: 'false',
    IOTA_SCRIPTS__LOG__LEVEL: 'warn',
  };
  const child = spawn(BINARY, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const started = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${output}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${output}`)));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const password = /password:\s+(\S+)/.exec(output);
      const email = /email:\s+(\S+)/.exec(output);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (password && email && url) {
        clearTimeout(timer);
        resolve({ base: url[1], email: email[1], password: password[1] });
      }
    });
  });
  const run = (...args) => execFileSync(BINARY, args, { env, encoding: 'utf8' });
  return {
    ...started,
    run,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 10_000);
        child.on('exit', () => { clearTimeout(timer); resolve(); });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
