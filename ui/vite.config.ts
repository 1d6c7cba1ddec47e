// Builds the web console into ui/dist (served by `caelus api` at /ui/).
// No React plugin: esbuild/oxc compile TSX with the automatic runtime, and the
// console needs no hot reload in development (rebuild and reload).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Small files stay files: the CSP allows no data: scripts, and the console has no images to inline.
    assetsInlineLimit: 0,
    // The console's one chunk is fine; a 500 kB warning would only be noise.
    chunkSizeWarningLimit: 1000,
  },
});
