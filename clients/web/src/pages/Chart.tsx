import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/** Per-day counts as a uPlot line chart that follows its container's width. */
export function DailyChart({ days, series, title }: { days: string[]; series: Series[]; title: string }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const xs = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#cbd5e1" : "#334155", grid: { stroke: dark ? "#334155" : "#e2e8f0" } };
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: 240,
        series: [{}, ...series.map((entry) => ({ label: entry.label, stroke: entry.color, width: 2, points: { show: days.length <= 31 } }))],
        // One tick per day at most, labelled by date: the counts are per UTC day.
        axes: [
          {
            ...axis,
            space: 48,
            incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
            values: (_chart, splits) =>
              splits.map((split) => new Date(split * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" })),
          },
          axis,
        ],
        scales: { y: { range: (_u, min, max) => [0, Math.max(max, min + 1)] } },
        legend: { show: true },
      },
      [xs, ...series.map((entry) => entry.values)],
      element,
    );
    const observer = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 280), height: 240 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [days, series]);
  return <div ref={container} className="chart" role="img" aria-label={title} />;
}
