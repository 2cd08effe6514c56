/** The paper's reproductions, by command name (`collapse reproduce <name>`), in the order `all` runs them. */
import { fig1 } from './fig1.js';
import { fig2 } from './fig2.js';
import { fig5 } from './fig5.js';
import { toy } from './toy.js';
import type { Reproduction } from './types.js';

export const REPRODUCTIONS: Readonly<Record<string, Reproduction>> = { fig1, fig2, fig5, toy };
