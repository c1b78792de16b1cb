/**
 * A tiny ECharts wrapper: one chart per div, resized with its container, disposed on unmount. ECharts is
 * most of the UI's JavaScript, so it is loaded on first use in its own chunk: a result page shows its
 * conclusions and tables before the charts' code has even been parsed.
 */
import { useEffect, useRef } from 'react';
import type { EChartsCoreOption, EChartsType } from 'echarts/core';

export type ChartOption = EChartsCoreOption;

let loader: Promise<typeof import('./echarts-setup.js')> | undefined;
const loadECharts = (): Promise<typeof import('./echarts-setup.js')> => (loader ??= import('./echarts-setup.js'));

export function Chart({ option, height = 280, testId }: { option: ChartOption; height?: number; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  const latest = useRef(option);
  latest.current = option;

  useEffect(() => {
    let alive = true;
    let ro: ResizeObserver | undefined;
    void loadECharts().then((m) => {
      if (!alive || !el.current) return;
      const c = m.init(el.current, undefined, { renderer: 'canvas' });
      chart.current = c;
      c.setOption(latest.current, { notMerge: true });
      ro = new ResizeObserver(() => c.resize());
      ro.observe(el.current);
    });
    return () => {
      alive = false;
      ro?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={el} className="chart" style={{ height }} data-testid={testId} />;
}
