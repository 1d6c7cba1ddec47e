// helm's plugin dir (the post-renderer helm executes) and node's compile
// cache live in a directory this process created with mkdtemp: mode 0700,
// owned by us, a name nobody could have guessed and created first.
import { lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultCompileCacheDir, defaultPluginsDir, ensurePostRendererPlugin, privateWorkDir } from '../../../src/helm/post-render/setup.ts';

describe('helm work directories', () => {
  it('are inside one private directory created for this process', () => {
    const dir = privateWorkDir();
    const st = lstatSync(dir);
    expect(st.isDirectory()).toBe(true);
    expect(st.isSymbolicLink()).toBe(false);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    expect(dirname(dir)).toBe(tmpdir());
    // mkdtemp's random suffix: not the predictable caelus-helm-plugins/<hash> of before.
    expect(dir).toMatch(/caelus-helm-[A-Za-z0-9]{6}$/);
    expect(defaultPluginsDir()).toBe(join(dir, 'plugins'));
    const saved = process.env['NODE_COMPILE_CACHE'];
    delete process.env['NODE_COMPILE_CACHE'];
    try {
      expect(defaultCompileCacheDir()).toBe(join(dir, 'compile-cache'));
    } finally {
      if (saved !== undefined) process.env['NODE_COMPILE_CACHE'] = saved;
    }
    expect(privateWorkDir()).toBe(dir);
  });

  it('writes the plugin into a directory only we can enter', async () => {
    const plugin = await ensurePostRendererPlugin(defaultPluginsDir(), { command: process.execPath, args: ['/x/main.ts'], pluginName: 'caelus-labels' });
    expect(lstatSync(defaultPluginsDir()).mode & 0o777).toBe(0o700);
    expect(lstatSync(plugin).mode & 0o077).toBe(0);
  });
});
