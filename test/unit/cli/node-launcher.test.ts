// A newcomer's second terminal: the machine's older `node` first on PATH.
// npm scripts and bin/caelus either run under the project's Node (the copy
// hack/ensure-node.sh caches) or stop at once with one line saying what to run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The machine's own node (20 here), as a fresh terminal finds it. */
const OLD_NODE_DIR = '/usr/bin';
const oldPath = `${OLD_NODE_DIR}:${process.env['PATH']}`;

function run(file: string, args: string[], env: Record<string, string> = {}) {
  return execa(file, args, { cwd: ROOT, reject: false, env: { ...process.env, PATH: oldPath, ...env }, extendEnv: false, timeout: 120_000 });
}

describe('an older node first on PATH', () => {
  let emptyCache: string;
  beforeAll(async () => {
    emptyCache = await mkdtemp(join(tmpdir(), 'caelus-no-node-'));
  });
  afterAll(async () => {
    await rm(emptyCache, { recursive: true, force: true });
  });

  it('is really older than the project wants (the premise of every case below)', async () => {
    const { stdout } = await run('node', ['--version']);
    expect(Number(/^v(\d+)/.exec(stdout)?.[1])).toBeLessThan(24);
  });

  it('npm run caelus -- --help runs the CLI under Node 24', async () => {
    const r = await run('npm', ['run', '-s', 'caelus', '--', '--help']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: caelus');
  }, 60_000);

  it('bin/caelus re-runs itself under Node 24', async () => {
    // Node 20 itself cannot load src/cli.ts (ERR_UNKNOWN_FILE_EXTENSION): the help text proves the re-run.
    const r = await run('node', ['bin/caelus.js', '--help']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: caelus');
  }, 60_000);

  it('npm test runs a test file under Node 24', async () => {
    // --runTestsByPath: exactly this file (a pattern that matched nothing would run every test, this one included).
    const r = await run('npm', ['test', '--', '--runTestsByPath', 'test/unit/sync/decide.test.ts']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/Tests:\s+\d+ passed/);
  }, 180_000);

  it('without a cached Node 24, scripts and bin/caelus stop at once with one line saying what to run', async () => {
    const env = { XDG_CACHE_HOME: emptyCache };
    for (const [file, args] of [
      ['npm', ['run', '-s', 'caelus', '--', '--help']],
      ['npm', ['run', '-s', 'test', '--', '--runTestsByPath', 'test/unit/sync/decide.test.ts']],
      ['node', ['bin/caelus.js', '--help']],
    ] as const) {
      const r = await run(file, [...args], env);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^caelus: needs Node 24 \(this is v\d+\.\d+\.\d+\); run `source hack\/ensure-node.sh`/)]);
    }
  }, 60_000);
});
