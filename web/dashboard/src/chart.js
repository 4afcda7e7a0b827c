// The clicks-over-time chart: uPlot bars, its axis in the chosen time zone.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function createChart(container) {
  let plot = null;
  let zone = 'UTC';

  function options(width) {
    return {
      width,
      height: 260,
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), zone),
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (self, min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [{}, { size: 60 }],
      series: [
        {},
        {
          label: 'Clicks',
          stroke: '#2563eb',
          fill: 'rgba(37, 99, 235, 0.25)',
          paths: uPlot.paths.bars({ size: [0.8, 40] }),
          points: { show: false },
        },
      ],
    };
  }

  function width() {
    return Math.max(320, container.clientWidth);
  }

  window.addEventListener('resize', () => plot?.setSize({ width: width(), height: 260 }));

  // points: [{start, clicks}] from the gateway; a new zone needs a new plot, as uPlot reads tzDate once.
  return function show(points, timeZone) {
    const data = [points.map((p) => Date.parse(p.start) / 1000), points.map((p) => p.clicks)];
    if (plot && zone === timeZone) {
      plot.setData(data);
      return;
    }
    zone = timeZone;
    plot?.destroy();
    plot = new uPlot(options(width()), data, container);
  };
}
