// The `caelus` command: wiring only; each subcommand's work lives in its module.
// Modules are imported when their subcommand runs: an operator process never
// loads the API's web stack (nor the API the operator's), which is resident
// memory and start-up CPU in every replica.
import { Command } from 'commander';

const dbCommands = () => import('./db/commands.ts');
const secretCommands = () => import('./db/secret-commands.ts');

/**
 * Aborts when the process is asked to stop (Ctrl-C or SIGTERM); a second
 * signal exits at once (130). The listeners stay registered: with none left,
 * signal-exit (execa's child cleanup) would re-raise the first signal and kill
 * the process before the graceful stop ran.
 */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) return ac.abort();
    process.stderr.write(`caelus: ${sig} again, exiting without a clean stop\n`);
    process.exit(130);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
  return ac.signal;
}

const program = new Command('caelus').description('Helm-driven multi-tenant instance operator for Kubernetes');

program
  .command('dev')
  .description('run Caelus locally: control plane (unless KUBECONFIG), PGlite (unless DATABASE_URL), example templates, operator + API')
  .option('--api-port <port>', 'REST API port (default 8081; 0 = any free) [CAELUS_API_PORT]')
  .option('--api-host <host>', 'REST API address (default 127.0.0.1) [CAELUS_API_HOST]')
  .option('--metrics-port <port>', "operator's /metrics, /healthz, /readyz port (default 8080; 0 = any free) [CAELUS_METRICS_PORT]")
  .option('--data-dir <dir>', 'PGlite data, kubeconfig and dev encryption key (default .caelus) [CAELUS_DEV_DIR]')
  .option('--catalog <file>', 'templates to register (default charts/catalog.yaml) [CAELUS_CATALOG]')
  .action(async (o: { apiPort?: string; apiHost?: string; metricsPort?: string; dataDir?: string; catalog?: string }) => {
    const { DevInterruptedError, runDev } = await import('./dev/run-dev.ts');
    try {
      await runDev({ ...o, signal: stopSignal() });
    } catch (err) {
      if (!(err instanceof DevInterruptedError)) throw err;
      process.stderr.write(`${err.message}\n`);
      // A build or start-up still running in the background must not keep the process alive.
      process.exit(130);
    }
  });

// Database: DATABASE_URL selects PostgreSQL, else PGlite under CAELUS_DB_DIR (default .caelus/db).
program
  .command('operator')
  .description('reconcile CaelusInstances: namespace, guardrails, Helm release, status (leader-elected)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
  .option('--catalog <file>', 'template catalog YAML/JSON instead of the database (GitOps-only installs) [CAELUS_CATALOG]')
  .option('--concurrency <n>', 'instances reconciled at once (default 8) [CAELUS_CONCURRENCY]')
  .option('--no-leader-election', 'reconcile without taking the Lease (one replica only) [CAELUS_LEADER_ELECTION]')
  .option('--lease-namespace <ns>', 'namespace of the leader-election Lease (default caelus-system)')
  .option('--helm-bin <path>', 'helm binary (default helm on PATH) [HELM_BIN]')
  .option('--helm-timeout-seconds <n>', 'helm --timeout (default 300)')
  .option('--resync-seconds <n>', 're-check every instance this often (default 600)')
  .option('--metrics-port <port>', '/metrics, /healthz, /readyz port (default 8080; 0 = any free)')
  .option('--shard <name>', 'run this shard of CAELUS_SHARDS: only its instances, its own Lease [CAELUS_SHARD]')
  .option('--instance-selector <selector>', 'only reconcile CaelusInstances matching this label selector (besides the shard\'s)')
  .action(async (o: Record<string, string | boolean | undefined>) => {
    const { operatorCommand } = await import('./cli/operator.ts');
    await operatorCommand(
      {
        kubeconfig: o['kubeconfig'],
        catalogFile: o['catalog'],
        concurrency: o['concurrency'],
        // commander sets leaderElection=true unless --no-leader-election; leave it to env/default then.
        leaderElection: o['leaderElection'] === false ? false : undefined,
        leaseNamespace: o['leaseNamespace'],
        helmBin: o['helmBin'],
        helmTimeoutSeconds: o['helmTimeoutSeconds'],
        resyncSeconds: o['resyncSeconds'],
        metricsPort: o['metricsPort'],
        ...(typeof o['shard'] === 'string' ? { shard: o['shard'] } : {}),
        ...(typeof o['instanceSelector'] === 'string' ? { instanceSelector: o['instanceSelector'] } : {}),
      },
      stopSignal(),
    );
  });

program
  .command('api')
  .description('serve the REST API (templates, instances, upgrades, quotas), /openapi.json, /docs, /metrics, /healthz, /readyz')
  .option('--port <port>', 'listen port (default 8081; 0 = any free) [CAELUS_API_PORT]')
  .option('--host <host>', 'listen address (default 0.0.0.0) [CAELUS_API_HOST]')
  .option('--kubeconfig <path>', 'read live instance status from this cluster (default: $KUBECONFIG, in-cluster; else from the database)')
  .option('--max-instances-per-user <n>', 'default instance quota per user (default 10) [CAELUS_MAX_INSTANCES_PER_USER]')
  .option('--helm-bin <path>', 'helm binary for the chart check of new template versions (default helm on PATH) [HELM_BIN]')
  .action(async (o: { port?: string; host?: string; kubeconfig?: string; maxInstancesPerUser?: string; helmBin?: string }) => {
    const { apiCommand } = await import('./api/command.ts');
    await apiCommand(o, stopSignal());
  });

const migrate = program.command('migrate').description('apply or inspect the database migrations in migrations/');
migrate.command('up', { isDefault: true }).description('apply every pending migration').action(async () => (await dbCommands()).migrateCommand('up'));
migrate.command('status').description('list migrations and when each was applied').action(async () => (await dbCommands()).migrateCommand('status'));
migrate.command('down').description('revert the latest migration (development only)').action(async () => (await dbCommands()).migrateCommand('down'));

const secrets = program.command('secrets').description('instance secrets (keys of the Secret <instance>-secrets), straight in the database');
secrets
  .command('rotate')
  .description('re-encrypt every secret with the newest key in CAELUS_ENCRYPTION_KEYS')
  .action(async () => (await dbCommands()).rotateSecretsCommand());
secrets
  .command('set <instance-id> <name>')
  .description('set a secret; the value is read from stdin (one trailing newline dropped) or --from-file, never from the command line')
  .option('--from-file <path>', 'read the value from this file instead of stdin')
  .option('--keep-trailing-newline', 'store the value exactly as read')
  .action(async (id: string, name: string, o: { fromFile?: string; keepTrailingNewline?: boolean }) => (await secretCommands()).setSecretCommand(id, name, o));
secrets
  .command('list <instance-id>')
  .description("list an instance's secrets: names, versions and update times, never values")
  .action(async (id: string) => (await secretCommands()).listSecretsCommand(id));
secrets
  .command('delete <instance-id> <name>')
  .description('delete a secret of an instance')
  .action(async (id: string, name: string) => (await secretCommands()).deleteSecretCommand(id, name));

program
  .command('token')
  .description('API tokens')
  .command('create')
  .description('create an API token and print it once')
  .requiredOption('--role <role>', 'admin or user')
  .option('--user <id>', 'the tenant user the token acts for (required for role user)')
  .option('--name <name>', 'a label for the token')
  .option('--expires <when>', 'a lifetime (90d, 12h, 1h30m) or an RFC 3339 date-time; default: never')
  .action(async (o: { role: 'admin' | 'user'; user?: string; name?: string; expires?: string }) => (await dbCommands()).createTokenCommand(o));

await program.parseAsync(process.argv);
