/**
 * The data of `oscope runlatency`: latency events as the tracer reports them (language-neutral), the
 * per-kind thresholds, and the analysis the report is built from.
 */
import type { Coverage, Method, RawFinding } from '../../contract/common.js';
import type { Histograms, KindThresholds, LatencyEvent, LatencySummary } from '../../contract/runlatency.js';

export { LATENCY_KINDS } from '../../contract/runlatency.js';
export type {
  CgroupHistogram,
  CpuHistogram,
  Histograms,
  KindSummary,
  KindThresholds,
  LatencyEvent,
  LatencyHistogram,
  LatencyKind,
  LatencySummary,
  TaskRef,
} from '../../contract/runlatency.js';
/** Kept for the tracer's imports; the shape is the shared Coverage. */
export type CoverageEntry = Coverage;

export interface LatencyAnalysis {
  thresholds: KindThresholds;
  events: LatencyEvent[];
  histograms: Histograms;
  summary: LatencySummary;
  findings: RawFinding[];
  method: Method;
  coverage: Coverage[];
}
