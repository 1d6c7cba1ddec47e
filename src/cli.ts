// The `caelus` command: wiring only; each subcommand's work lives in its module.
import { Command } from 'commander';
import { runDev } from './dev/run-dev.ts';

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}

const program = new Command('caelus').description('Helm-driven multi-tenant instance operator for Kubernetes');

program
  .command('dev')
  .description('run Caelus locally: a local control plane (kube-apiserver + etcd) with a sample release')
  .action(async () => {
    await runDev({ signal: stopSignal() });
  });

await program.parseAsync(process.argv);
