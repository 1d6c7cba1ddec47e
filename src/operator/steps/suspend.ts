import { CONTINUE, condition, setPhase, stopHere, type Step } from '../context.ts';
import { ConditionType, Phase, Reason } from '../../domain/instance.ts';

/** spec.suspend: report it and change nothing else (deletion still runs: it comes earlier). */
export function suspendStep(): Step {
  return {
    name: 'suspend',
    async run(ctx) {
      if (!ctx.instance.spec.suspend) return CONTINUE;
      setPhase(ctx, Phase.Suspended, 'reconciliation is suspended (spec.suspend)');
      condition(ctx, { type: ConditionType.Ready, status: 'False', reason: Reason.Suspended, message: 'reconciliation is suspended' });
      return stopHere();
    },
  };
}
