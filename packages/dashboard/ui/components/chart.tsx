/**
 * A time chart of one deployment's series (uPlot, drawn on a canvas). The canvas says nothing to
 * assistive technology, so the figure's caption and label give the latest values in words.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Point } from '../../src/protocol.js';
import { formatNumber } from '../format.js';

/** One line of a chart: what it is called, how it is read from a point, and how it is dashed. */
export interface ChartLine {
  readonly label: string;
  readonly value: (point: Point) => number | null;
  /** Dashes tell lines apart without colour. */
  readonly dash?: readonly number[];
}

const STROKES = ['#2563eb', '#c2410c', '#15803d'];

function chartData(series: readonly Point[], lines: readonly ChartLine[]): uPlot.AlignedData {
  return [series.map((point) => point.t), ...lines.map((line) => series.map((point) => line.value(point)))];
}

/** A chart of `lines` over `series`, titled `title`, values in `unit`. */
export function Chart(props: {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly Point[];
  readonly lines: readonly ChartLine[];
}) {
  const { title, unit, series, lines } = props;
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const empty = series.length === 0;

  // The chart is made once per holder and given new data as snapshots come; lines never change for a chart.
  useEffect(() => {
    const element = holder.current;
    if (element === null || empty) return;
    const ink = getComputedStyle(element).color;
    const grid = getComputedStyle(element).borderColor;
    const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 240),
        height: 180,
        // The caption says the latest values; the legend names the lines (values on hover would repeat it, as `--` otherwise).
        legend: { live: false },
        scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        axes: [axis, { ...axis, size: 60, values: (_u, ticks) => ticks.map((tick) => formatNumber(tick, 3)) }],
        series: [
          {},
          ...lines.map((line, i) => ({
            label: line.label,
            stroke: STROKES[i % STROKES.length]!,
            width: 2,
            ...(line.dash ? { dash: [...line.dash] } : {}),
            value: (_u: uPlot, raw: number | null) => (raw === null ? '–' : `${formatNumber(raw, 2)} ${unit}`),
          })),
        ],
      },
      chartData(series, lines),
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 240), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // A new chart only when it goes from empty to not; data updates are below.
  }, [empty]);

  useEffect(() => {
    plot.current?.setData(chartData(series, lines));
  }, [series, lines]);

  const last = series.at(-1);
  const summary =
    last === undefined
      ? 'no data yet'
      : lines
          .map((line) => {
            const value = line.value(last);
            return `${line.label} ${value === null ? 'no data' : `${formatNumber(value, 2)} ${unit}`}`;
          })
          .join(', ');
  return (
    <figure class="chart">
      <figcaption>
        <strong>{title}</strong> <span class="chart-latest">latest: {summary}</span>
      </figcaption>
      {empty ? (
        <p class="chart-empty">No points yet: the series fills as requests come in.</p>
      ) : (
        <div
          class="chart-canvas"
          ref={holder}
          role="img"
          aria-label={`${title}, over the last ${series.length} points; latest: ${summary}`}
        />
      )}
    </figure>
  );
}
