/** The dashboard's entry point: esbuild bundles it (and its CSS) into app.js and app.css. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { App } from './app.js';
import { adoptKeyFromAddress } from './page-key.js';

// Before anything reads the address: a sign-in's `#key=…` is not a route.
adoptKeyFromAddress();

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
