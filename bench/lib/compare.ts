// Caelus's scale result next to Flux's, with Caelus ÷ Flux per measure
// (pure; unit-tested in test/unit/bench/compare.test.ts).
import { round } from '../scenarios/common.ts';

/** The figures of a Caelus scale run that the comparison uses. */
export interface CaelusFigures {
  wallSeconds: number;
  readySeconds: { p50: number };
  operator: { peakRssMiB: number; cpuSeconds: number; helmChildrenCpuSeconds: number };
  controlPlaneCpuSeconds: { apiserver: number; etcd: number };
  apiserverRequests: { operator: number };
}

/** The figures of a Flux run that the comparison uses. */
export interface FluxFigures {
  wallSeconds: number;
  readySeconds: { p50: number };
  controllers: Record<'helm-controller' | 'source-controller', { peakRssMiB: number; cpuSeconds: number }>;
  controlPlaneCpuSeconds: { apiserver: number; etcd: number };
  apiserverRequests: { flux: number };
}

export interface CompareRow {
  measure: string;
  caelus: number;
  flux: number;
  /** caelus ÷ flux (below 1: Caelus needs less); NaN when Flux's figure is 0. */
  ratio: number;
  caelusDetail?: string;
  fluxDetail?: string;
}

export function compareRows(c: CaelusFigures, f: FluxFigures): CompareRow[] {
  const hc = f.controllers['helm-controller'];
  const sc = f.controllers['source-controller'];
  const row = (measure: string, caelus: number, flux: number, caelusDetail?: string, fluxDetail?: string): CompareRow => ({
    measure,
    caelus: round(caelus, 2),
    flux: round(flux, 2),
    ratio: flux === 0 ? NaN : round(caelus / flux, 2),
    ...(caelusDetail ? { caelusDetail } : {}),
    ...(fluxDetail ? { fluxDetail } : {}),
  });
  return [
    row('all Ready (s)', c.wallSeconds, f.wallSeconds),
    row('median Ready (s)', c.readySeconds.p50, f.readySeconds.p50),
    row(
      'CPU (s)',
      c.operator.cpuSeconds + c.operator.helmChildrenCpuSeconds,
      hc.cpuSeconds + sc.cpuSeconds,
      `operator ${c.operator.cpuSeconds} + helm, post-renderer and spawner ${c.operator.helmChildrenCpuSeconds}`,
      `helm-controller ${hc.cpuSeconds} + source-controller ${sc.cpuSeconds}`,
    ),
    row('peak RSS (MiB)', c.operator.peakRssMiB, hc.peakRssMiB + sc.peakRssMiB, 'operator', `helm-controller ${hc.peakRssMiB} + source-controller ${sc.peakRssMiB}`),
    row('API-server requests', c.apiserverRequests.operator, f.apiserverRequests.flux),
    row('kube-apiserver + etcd CPU (s)', c.controlPlaneCpuSeconds.apiserver + c.controlPlaneCpuSeconds.etcd, f.controlPlaneCpuSeconds.apiserver + f.controlPlaneCpuSeconds.etcd),
  ];
}
