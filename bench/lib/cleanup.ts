// Everything a bench run starts registers how to stop it here, so Ctrl-C, a
// failure or a normal end all leave no control plane, operator or database behind.

type Cleanup = { name: string; run: () => Promise<void> | void };
const stack: Cleanup[] = [];
let running: Promise<void> | undefined;

/** Registers a cleanup; returns a function that runs and unregisters it early. */
export function onCleanup(name: string, run: Cleanup['run']): () => Promise<void> {
  const entry: Cleanup = { name, run };
  stack.push(entry);
  return async () => {
    const i = stack.indexOf(entry);
    if (i < 0) return;
    stack.splice(i, 1);
    await entry.run();
  };
}

/** Runs every registered cleanup, newest first; errors are reported, not thrown, so the rest still run. */
export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (stack.length > 0) {
      const c = stack.pop()!;
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`[bench] cleanup of ${c.name} failed: ${(err as Error).message}\n`);
      }
    }
  })().finally(() => (running = undefined));
  return running;
}

/** SIGINT/SIGTERM: clean up, then exit 130/143. A second signal exits at once. */
export function installSignalHandlers(): void {
  let stopping = false;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(code);
      stopping = true;
      process.stderr.write(`\n[bench] ${sig}: stopping everything this run started…\n`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}
