/**
 * Plots for the reports, drawn by Vega-Lite (a maintained plotting library; rendered to SVG by Vega
 * without a browser or canvas): a spec in, an SVG string out.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to SVG. */
export async function svgOf(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile({
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: '#ddd' } },
    ...spec,
  } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
