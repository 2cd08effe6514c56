/** The paper's reproductions, by command name (`collapse reproduce <name>`), in the order `all` runs them. */
import { fig1 } from './fig1.js';
import { fig2 } from './fig2.js';
import { fig3 } from './fig3.js';
import { fig4 } from './fig4.js';
import { fig5 } from './fig5.js';
import { fig6 } from './fig6.js';
import { toy } from './toy.js';
import type { Reproduction } from './types.js';

export const REPRODUCTIONS: Readonly<Record<string, Reproduction>> = { fig1, fig2, fig3, fig4, fig5, fig6, toy };
