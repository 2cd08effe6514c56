/** Figures: vega-lite specs rendered to SVG (vega, headless) and PNG (resvg, bundled DejaVu Sans). */
export { BASE_CONFIG, dejavuFontFile, fmt, FONT_FAMILY, renderFigure, renderSvg, svgToPng, useDejavuMetrics } from './render.js';
export { FontMetrics } from './font-metrics.js';
export type { Figure, RenderOptions } from './render.js';
export { collapseFigure, collapseSpec, paramsText, SERIES_COLORS, stepLabel } from './collapse.js';
export type { CollapseFigureOptions } from './collapse.js';
export { noiseSymbol, trajectoriesFigure, trajectoriesSpec } from './trajectories.js';
export type { SidePanel, TrajectoriesFigureOptions } from './trajectories.js';
export { distanceFigure, distanceSpec, matrixImage, DISTANCE_DOMAIN } from './distances.js';
export type { DistanceFigureInput, DistanceFigureOptions } from './distances.js';
export { fractionFigure, fractionSpec, meanStd } from './fractions.js';
export type { FractionFigureInput, FractionSeries } from './fractions.js';
export { encodePng } from './png.js';
